/**
 * Options of the RDAP service (plain data; the defaults below), its components (live things), and
 * the check of the options where they enter: each error names the field.
 *
 * The limits are for a public port: a request's head (request line and headers) is bounded, so is
 * the time to send it, the time a keep-alive connection may idle, the connections open at once,
 * and how long an answer may take before the client gets a 503 instead of waiting.
 */
import { isIP } from 'node:net'
import type { Logger } from '../../util/logger.js'
import { REAL_REGISTRY_ENDPOINTS } from '../../registry/endpoints.js'
import { REGISTRY_IDS, type RegistryEndpoints } from '../../registry/interface.js'
import type { AnswerSource } from '../interface.js'
import { RdapOptionsError } from './errors.js'
import type { RdapMetrics } from './metrics.js'

export interface RdapServerOptions {
  /**
   * Address to listen on (an IP address or "localhost"); "0.0.0.0" or "::" for every interface.
   * @default '127.0.0.1'
   */
  host: string
  /**
   * TCP port; 0 lets the OS choose (the server reports the one bound).
   * @default 0
   */
  port: number
  /**
   * This service's public base URL (ending with "/"), for the `self` links, when it is reached
   * through a proxy or a name of its own. Unset: `http://<the request's Host header>/` (or the
   * bound address when the header is missing or odd).
   * @default undefined
   */
  baseUrl?: string
  /**
   * Largest request head, request line and headers together, in bytes; larger gets 431.
   * @default 8192
   */
  maxHeaderBytes: number
  /**
   * Time a client has to send a whole request (head and any body), ms; then 408 and the
   * connection is closed.
   * @default 10_000
   */
  requestTimeoutMs: number
  /**
   * Time the replica has to answer one query, ms; then 503 with Retry-After (the lookup itself
   * cannot be called off and finishes unseen).
   * @default 5_000
   */
  answerTimeoutMs: number
  /**
   * How long an idle keep-alive connection stays open, ms.
   * @default 5_000
   */
  keepAliveTimeoutMs: number
  /**
   * Connections open at once; one more is closed as soon as it is accepted.
   * @default 512
   */
  maxConnections: number
  /**
   * Each registry's RDAP base URL (the `related` link to its own answer) and WHOIS host (`port43`).
   * @default REAL_REGISTRY_ENDPOINTS (registry/endpoints.ts)
   */
  registryEndpoints: RegistryEndpoints
}

export const defaultRdapServerOptions: RdapServerOptions = {
  host: '127.0.0.1',
  port: 0,
  maxHeaderBytes: 8192,
  requestTimeoutMs: 10_000,
  answerTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
  registryEndpoints: REAL_REGISTRY_ENDPOINTS
}

export interface RdapServerComponents {
  /** what the answers are read from (serve/source.ts: storeAnswerSource(store, peerId)) */
  source: AnswerSource
  /** a line for each failed or timed-out lookup (default: none) */
  logger?: Logger
  metrics?: RdapMetrics
}

/** The options with defaults filled in, checked; throws RdapOptionsError naming the bad field. */
export function rdapServerOptions (opts: Partial<RdapServerOptions>): RdapServerOptions {
  const o: RdapServerOptions = { ...defaultRdapServerOptions, ...stripUndefined(opts) }
  const fail = (field: string, msg: string): never => { throw new RdapOptionsError(field, `RDAP service: ${field} ${msg}`) }
  if (typeof o.host !== 'string' || (o.host !== 'localhost' && isIP(o.host) === 0)) fail('host', `must be an IP address or "localhost", got ${JSON.stringify(o.host)}`)
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) fail('port', `must be an integer from 0 to 65535, got ${String(o.port)}`)
  if (o.baseUrl !== undefined && (typeof o.baseUrl !== 'string' || !/^https?:\/\/[^/]+\/(?:.*\/)?$/.test(o.baseUrl))) {
    fail('baseUrl', `must be an http(s) URL ending with "/", got ${JSON.stringify(o.baseUrl)}`)
  }
  const positive = (field: 'maxHeaderBytes' | 'requestTimeoutMs' | 'answerTimeoutMs' | 'keepAliveTimeoutMs' | 'maxConnections', min: number, max: number): void => {
    const v = o[field]
    if (!Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer from ${min} to ${max}, got ${String(v)}`)
  }
  positive('maxHeaderBytes', 1024, 1024 * 1024)
  positive('requestTimeoutMs', 100, 600_000)
  positive('answerTimeoutMs', 10, 600_000)
  positive('keepAliveTimeoutMs', 100, 600_000)
  positive('maxConnections', 1, 1_000_000)
  for (const id of REGISTRY_IDS) {
    const e = o.registryEndpoints?.[id]
    if (e == null || typeof e.rdapBaseUrl !== 'string' || !/^https?:\/\/[^/]+\/(?:.*\/)?$/.test(e.rdapBaseUrl)) fail(`registryEndpoints.${id}.rdapBaseUrl`, 'must be an http(s) URL ending with "/"')
    if (typeof e.whoisHost !== 'string' || e.whoisHost === '') fail(`registryEndpoints.${id}.whoisHost`, 'must be a host name')
  }
  return o
}

function stripUndefined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
