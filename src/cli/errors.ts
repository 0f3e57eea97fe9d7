/**
 * CLI error handling: a user mistake (bad flag, unreadable file, locked or corrupt data directory,
 * registry file errors, …) prints ONE clear line and exits non-zero; only bugs print a stack, and
 * only with WHOISMESH_DEBUG=1.
 */

export { UserError } from '../util/errors.js'

/** Errors from the libraries below whose messages are already meant for users. */
const USER_FACING = new Set([
  'UserError', 'BudgetParseError', 'RegistriesFileError', 'InvalidAddressError', 'StoreLockedError',
  'StoreOpenError', 'StoreCorruptError', 'StoreWriteError', 'ControlError', 'SimulatorOptionsError', 'DatasetError',
  'MetricsServerError', 'BulkSourceError', 'BulkSnapshotError', 'ServeListenError', 'RdapOptionsError',
  'ExportTargetError', 'ExportLimitError'
])

/** System error codes that mean the user's environment or input, not a bug. */
const USER_SYSTEM_CODES = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'EPERM', 'ENOENT', 'EISDIR', 'ENOTDIR', 'ENOSPC', 'EROFS'])

export function exitCodeFor (err: unknown): number {
  const e = err as { name?: string, exitCode?: number, code?: string }
  if (e?.name === 'UserError' && typeof e.exitCode === 'number') return e.exitCode
  if (e?.name != null && USER_FACING.has(e.name)) return 2
  if (e?.code != null && USER_SYSTEM_CODES.has(e.code)) return 2
  return 1
}

/** Prints the error the way the CLI shows it and returns the exit code. */
export function reportError (err: unknown, write: (s: string) => void = s => process.stderr.write(s)): number {
  const e = err as Error & { code?: string }
  if (e?.name != null && USER_FACING.has(e.name)) {
    write(`whoismesh: ${e.message}\n`)
  } else if (e?.code === 'EADDRINUSE') {
    write(`whoismesh: cannot listen on ${e.message.replace(/^listen EADDRINUSE: address already in use /, '')}: address already in use\n`)
  } else if (e?.code != null && USER_SYSTEM_CODES.has(e.code)) {
    write(`whoismesh: ${e.message}\n`)
  } else {
    write(`whoismesh: internal error: ${e?.message ?? String(err)}\n`)
    if (process.env.WHOISMESH_DEBUG != null) write(`${e?.stack ?? ''}\n`)
    else write('whoismesh: run again with WHOISMESH_DEBUG=1 for details, and please report it\n')
  }
  return exitCodeFor(err)
}
