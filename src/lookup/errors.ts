/**
 * Lookup errors, classed by what the crawler does about them. Branch on `name`, which is stable.
 *
 * | class                  | crawler's reaction                                           |
 * |------------------------|--------------------------------------------------------------|
 * | NotFoundError          | a result: record the address as unallocated, never ask again |
 * | RateLimitedError       | back off the registry for `retryAfterMs`, then retry         |
 * | TransientLookupError   | timeout / reset / 5xx / cut short: retry with capped backoff |
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

/** `truncated`: a WHOIS answer that ends inside an object (the connection closed early) */
export type TransientKind = 'timeout' | 'reset' | 'refused' | 'server-error' | 'too-large' | 'truncated'

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

export type LookupError = NotFoundError | RateLimitedError | TransientLookupError | MalformedResponseError | TooManyRedirectsError
