/**
 * The RDAP service's metrics, optional at call sites (`metrics?.requestsTotal.inc(…)`): answers by
 * HTTP status, how long each took from the request's arrival to the end of the answer, and
 * connections refused for being one too many.
 */
import { Counter, Histogram, type Registry } from 'prom-client'

export interface RdapMetrics {
  /** answers by `status` (the HTTP status code: 200, 400, 404, 500, 503, …) */
  requestsTotal: Counter<'status'>
  /** seconds from a request's arrival to its answer written */
  requestSeconds: Histogram
  /** connections closed on arrival because `maxConnections` were open */
  droppedConnectionsTotal: Counter
}

export function createRdapMetrics (register: Registry): RdapMetrics {
  const registers = [register]
  return {
    requestsTotal: new Counter({
      name: 'whoismesh_rdap_requests_total',
      help: 'RDAP service answers by HTTP status code',
      labelNames: ['status'] as const,
      registers
    }),
    requestSeconds: new Histogram({
      name: 'whoismesh_rdap_request_seconds',
      help: 'RDAP service: seconds from a request to its answer',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers
    }),
    droppedConnectionsTotal: new Counter({
      name: 'whoismesh_rdap_dropped_connections_total',
      help: 'RDAP service: connections closed on arrival because the maximum were open',
      registers
    })
  }
}
