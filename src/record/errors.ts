/**
 * Record errors. Branch on `name`, which is stable.
 *
 * - InvalidRecordError: a value is not a well-formed record (a caller bug, or a peer message that
 *   skipped validation); `field` names the bad field. Nothing that takes records stores a part of it.
 */

export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError'
  /** @param field where the bad value is, e.g. "networks[3].end" */
  constructor (readonly field: string, message: string) {
    super(`${field}: ${message}`)
  }
}
