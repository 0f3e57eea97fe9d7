/**
 * Sync errors, by what the caller should do. Branch on `name` (stable) or `reason`.
 *
 * - SyncProtocolError: the peer misbehaved (malformed frame, invalid records, protocol violation).
 *   Nothing it sent after the bad frame was stored. Do not retry soon; a scorer may penalise it.
 * - SyncRemoteError: the peer ended the session with a reason ("busy" → retry later, elsewhere).
 * - SyncTimeoutError: a read, a write or the whole session ran out of time. Retryable.
 * - SyncStoppedError: the service is stopping.
 * - SyncOptionsError: bad configuration, names the field.
 */

/** Why a session was aborted; the keys of `SyncStats.aborted`. */
export type SyncAbortReason =
  | 'malformed-frame' | 'invalid-records' | 'protocol-violation' | 'timeout' | 'remote-error' | 'busy'
  | 'stream-error' | 'store-error' | 'stopped'

export class SyncProtocolError extends Error {
  override readonly name = 'SyncProtocolError'
  constructor (readonly reason: 'malformed-frame' | 'invalid-records' | 'protocol-violation', message: string, readonly frameBytes?: number) {
    super(message)
  }
}

export class SyncRemoteError extends Error {
  override readonly name = 'SyncRemoteError'
  readonly reason: 'busy' | 'remote-error'
  constructor (readonly remoteMessage: string) {
    super(`peer aborted the sync session: ${remoteMessage}`)
    this.reason = remoteMessage === 'busy' ? 'busy' : 'remote-error'
  }

  /** the peer was serving its maximum of sessions; retrying later (or another peer) will do */
  get retryable (): boolean { return this.reason === 'busy' }
}

export class SyncTimeoutError extends Error {
  override readonly name = 'SyncTimeoutError'
  readonly reason = 'timeout'
  readonly retryable = true
  constructor (message: string) { super(message) }
}

export class SyncStoppedError extends Error {
  override readonly name = 'SyncStoppedError'
  readonly reason = 'stopped'
  constructor () { super('the sync service is stopped') }
}

export class SyncOptionsError extends Error {
  override readonly name = 'SyncOptionsError'
  constructor (readonly field: string, message: string) { super(`sync option ${field}: ${message}`) }
}

export type SyncError = SyncProtocolError | SyncRemoteError | SyncTimeoutError | SyncStoppedError

/** The abort reason to count for an error a session ended with. */
export function abortReasonOf (err: unknown): SyncAbortReason {
  if (err instanceof SyncProtocolError) return err.reason
  if (err instanceof SyncRemoteError) return err.reason
  if (err instanceof SyncTimeoutError) return 'timeout'
  if (err instanceof SyncStoppedError) return 'stopped'
  const name = (err as Error)?.name ?? ''
  if (name.startsWith('Store') || name === 'InvalidRecordError') return 'store-error'
  return 'stream-error'
}
