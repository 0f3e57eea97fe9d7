/**
 * Store errors, classed by what the caller should do. Branch on `name`, which is stable.
 *
 * | class              | caller's reaction                                                        |
 * |--------------------|--------------------------------------------------------------------------|
 * | StoreLockedError   | another process (a running node) holds the database: talk to that node   |
 * | StoreOpenError     | the directory cannot be used (not a directory, not writable, disk full): |
 * |                    | fix the path or the disk; the message carries the OS reason              |
 * | StoreCorruptError  | the database is damaged: stop, move the directory aside, re-sync         |
 * | InvalidRecordError | a caller bug or an unvalidated peer message: the commit wrote nothing    |
 * | StoreClosedError   | the store was used after `close()`                                       |
 *
 * Repair: whoismesh does not repair a damaged database itself. Move the directory aside
 * (`mv <dir> <dir>.corrupt`) and start the node again: it re-syncs from its peers or re-crawls.
 * LevelDB's own best-effort repair is reachable through classic-level
 * (`ClassicLevel.repair(location)`, also `Level.repair` at runtime): run it on a *copy* if you need
 * to salvage records from the damaged directory; it may silently drop data.
 */

export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError'
  constructor (readonly dataDir: string, readonly reason: string) {
    super(`store ${dataDir} is in use by another process (${reason}); talk to the running node instead of opening its store`)
  }
}

export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError'
  /** @param reason the OS / LevelDB reason, e.g. "ENOTDIR: not a directory, mkdir '…'" */
  constructor (readonly dataDir: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`cannot open store ${dataDir}: ${reason}`, options)
  }
}

export class StoreCorruptError extends Error {
  override readonly name = 'StoreCorruptError'
  constructor (readonly dataDir: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`store ${dataDir} is corrupt (${reason}); whoismesh cannot repair it: stop the node, move the directory aside (mv ${dataDir} ${dataDir}.corrupt) and let the node re-sync; ClassicLevel.repair(location) may salvage records from a copy`, options)
  }
}

export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError'
  /** @param field where the bad value is, e.g. "networks[3].end" */
  constructor (readonly field: string, message: string) {
    super(`${field}: ${message}`)
  }
}

export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError'
  constructor (readonly dataDir: string) {
    super(`store ${dataDir} is closed`)
  }
}

export type StoreError = StoreLockedError | StoreOpenError | StoreCorruptError | InvalidRecordError | StoreClosedError
