/**
 * Metrics: one `createXMetrics(register)` per subsystem (prom-client, prefix `whoismesh_`, unit
 * suffixes), optional at call sites (`metrics?.lookupsTotal.inc()`), and a loopback-only HTTP
 * server for `GET /metrics`.
 */
import { Registry } from 'prom-client'
import { createCrawlMetrics, type CrawlMetrics } from './crawl-metrics.js'
import { createMeshMetrics, type MeshMetrics } from './mesh-metrics.js'

export * from './crawl-metrics.js'
export * from './mesh-metrics.js'
export * from './server.js'
export * from './errors.js'
export { Registry }

export interface NodeMetrics {
  register: Registry
  crawl: CrawlMetrics
  mesh: MeshMetrics
}

/** A fresh registry with every subsystem's metrics on it (one per node; tests may make several). */
export function createNodeMetrics (register: Registry = new Registry()): NodeMetrics {
  return { register, crawl: createCrawlMetrics(register), mesh: createMeshMetrics(register) }
}
