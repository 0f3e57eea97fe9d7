/**
 * Lookup errors, classed by what the crawler does about them. Branch on `name`, which is stable.
 *
 * | class                  | crawler's reaction                                           |
 * |------------------------|--------------------------------------------------------------|
 * | NotFoundError          | a result: record the address as unallocated, never ask again |
 * | RateLimitedError       | back off the registry for `retryAfterMs`, then retry         |
 * | TransientLookupError   | timeout / reset / 5xx / cut short: retry with capped backoff |
 * |   kinds dns, refused,  | the registry is unreachable (src/crawl/reachability.ts): it  |
 * |   connect-timeout      | is paused with a growing back-off and probed one request at  |
 * |   (timeout, in a row)  | a time; the address waits without spending its attempts      |
 * | MalformedResponseError | record, retry once, then give up with the reason             |
 * | TooManyRedirectsError  | give up with the reason (a loop between registries)          |
 */
import type { RegistryId } from '../registry/interface.js'

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError'
  constructor (readonly registry: RegistryId, message: string) { super(message) }
}

export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError'
  /**
   * @param retryAfterMs from `Retry-After` or the registry's message; undefined when it gave none
   * @param banned the registry refuses us outright for a while (not a mere 429)
   */
  constructor (readonly registry: RegistryId, message: string, readonly retryAfterMs?: number, readonly banned = false) { super(message) }
}

/**
 * - `dns`: the registry's host name did not resolve (ENOTFOUND, EAI_AGAIN: no network or no DNS)
 * - `refused`: no connection (ECONNREFUSED: nothing listens there; EHOSTUNREACH, ENETUNREACH)
 * - `connect-timeout`: no connection within the connect timeout
 * - `timeout`: connected, but no complete answer in time
 * - `reset`: the connection broke (or closed without an answer)
 * - `truncated`: a WHOIS answer that ends inside an object (the connection closed early)
 */
export type TransientKind = 'dns' | 'refused' | 'connect-timeout' | 'timeout' | 'reset' | 'server-error' | 'too-large' | 'truncated'

/**
 * The kinds that say the registry was not reached at all. `timeout` is among them (a registry
 * that accepts connections and never answers is down too), but one answer timeout alone is not
 * enough: the crawl counts them in a row (RegistryGateOptions.unreachableAfterTimeouts).
 */
export type UnreachableKind = Extract<TransientKind, 'dns' | 'refused' | 'connect-timeout' | 'timeout'>

export class TransientLookupError extends Error {
  override readonly name = 'TransientLookupError'
  constructor (readonly registry: RegistryId, readonly kind: TransientKind, message: string) { super(message) }
}

export class MalformedResponseError extends Error {
  override readonly name = 'MalformedResponseError'
  /** @param bytes size of the raw answer */
  constructor (readonly registry: RegistryId, message: string, readonly bytes: number) { super(message) }
}

export class TooManyRedirectsError extends Error {
  override readonly name = 'TooManyRedirectsError'
  constructor (readonly registry: RegistryId, message: string) { super(message) }
}

/** The kind of a failure that did not reach the registry at all, or undefined (it was reached). */
export function unreachableKind (err: unknown): UnreachableKind | undefined {
  if ((err as { name?: unknown } | null)?.name !== 'TransientLookupError') return undefined
  const kind = (err as TransientLookupError).kind
  return kind === 'dns' || kind === 'refused' || kind === 'connect-timeout' || kind === 'timeout' ? kind : undefined
}

export type LookupError = NotFoundError | RateLimitedError | TransientLookupError | MalformedResponseError | TooManyRedirectsError
