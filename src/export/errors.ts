/**
 * Errors of the exports, classed by what the caller does about them.
 */

/**
 * The output file cannot be written (no such directory, no permission, disk full, a directory of
 * that name): the user names another path or frees space. Nothing was left at `path`.
 */
export class ExportTargetError extends Error {
  override readonly name = 'ExportTargetError'
  constructor (readonly path: string, readonly code: string | undefined, message: string) {
    super(message)
  }
}

/**
 * The data exceed a limit of the file format (MMDB: a data section over 4 GiB, one field over
 * 16 MiB). Nothing to retry: export less (`--registry`, `--since`).
 */
export class ExportLimitError extends Error {
  override readonly name = 'ExportLimitError'
}

/**
 * A row of the dump the exporter was given is not what `whoismesh dump` writes (a line of the
 * running node's stream that is not a dump row): a bug or a node of another version.
 */
export class ExportRowError extends Error {
  override readonly name = 'ExportRowError'
}
