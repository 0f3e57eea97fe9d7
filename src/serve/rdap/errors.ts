/**
 * Errors of the RDAP service, by what the caller does. Branch on `name` (stable).
 *
 * - RdapOptionsError: a bad option; the message names the field. Fix the configuration.
 * - RdapListenError: the address cannot be bound (`code`: EADDRINUSE — another port or stop the
 *   other process; EACCES — a port below 1024 needs privileges; EADDRNOTAVAIL — not an address of
 *   this machine). Not retryable as is.
 *
 * What goes wrong while answering is not thrown at anyone: a bad query is a 400, a source that
 * fails a 500, one too slow a 503 (server.ts), each an RDAP error body.
 */

export class RdapOptionsError extends Error {
  override readonly name = 'RdapOptionsError'
  constructor (readonly field: string, message: string) { super(message) }
}

export class RdapListenError extends Error {
  override readonly name = 'RdapListenError'
  constructor (readonly code: string | undefined, message: string) { super(message) }
}
