/**
 * Bulk-data errors. Branch on `name`, which is stable.
 *
 * - BulkSourceError: a dump or serial file could not be fetched or read (a URL that does not
 *   answer, a directory without the registry's files): the operator fixes the source, or runs
 *   without it (`--bulk off`); nothing already imported is touched.
 * - BulkSnapshotError: an imported snapshot in the data directory cannot be read (not one, cut
 *   short): re-import the dump (`whoismesh import`), which replaces the file.
 */

export class BulkSourceError extends Error {
  override readonly name = 'BulkSourceError'
}

export class BulkSnapshotError extends Error {
  override readonly name = 'BulkSnapshotError'
  constructor (readonly path: string, message: string) {
    super(`bulk snapshot ${path}: ${message}`)
  }
}
