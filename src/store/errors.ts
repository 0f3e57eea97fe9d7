/**
 * Store errors, classed by what the caller should do. Branch on `name`, which is stable.
 *
 * | class              | caller's reaction                                                        |
 * |--------------------|--------------------------------------------------------------------------|
 * | StoreLockedError   | another process (a running node) holds the database: talk to that node   |
 * | StoreOpenError     | the directory cannot be used (not a directory, not writable, disk full): |
 * |                    | fix the path or the disk; the message carries the OS reason              |
 * | StoreCorruptError  | the database is damaged: stop, `whoismesh repair`, or move it aside and  |
 * |                    | re-sync from peers                                                       |
 * | StoreWriteError    | a write failed (disk full, I/O error): stop; what was committed before   |
 * |                    | is kept; free space or fix the disk, then start again                    |
 * | InvalidRecordError | (record/errors.ts) a caller bug or an unvalidated peer message: the      |
 * |                    | commit wrote nothing                                                     |
 * | StoreClosedError   | the store was used after `close()`                                       |
 *
 * Repair (README, "If the data directory is damaged"): `whoismesh repair --data DIR` (repair.ts)
 * runs LevelDB's own repair, then checks every record and rebuilds the derived value headers; what
 * it drops, the node re-fetches or re-syncs. Or move the directory aside (`mv DIR DIR.corrupt`) and
 * start the node again: it re-syncs from its peers or re-crawls.
 */
import type { InvalidRecordError } from '../record/index.js'

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
    super(`store ${dataDir} is corrupt (${reason}); stop the node and run \`whoismesh repair --data ${dataDir}\`, or move the directory aside (mv ${dataDir} ${dataDir}.corrupt) and start the node again to re-sync from its peers`, options)
  }
}

export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError'
  /** @param reason the LevelDB / OS reason, e.g. "IO error: …/000003.log: No space left on device" */
  constructor (readonly dataDir: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`cannot write to store ${dataDir} (${reason}); stopped: what was stored before is kept — free space or fix the disk, then start the node again`, options)
  }
}

export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError'
  constructor (readonly dataDir: string) {
    super(`store ${dataDir} is closed`)
  }
}

export type StoreError = StoreLockedError | StoreOpenError | StoreCorruptError | StoreWriteError | InvalidRecordError | StoreClosedError
