/**
 * Writing an output file so that it is either complete or not there: the content goes to a
 * temporary file beside it (same directory, so the rename cannot cross file systems), is synced,
 * and is renamed over the destination only once complete. A failure, or SIGINT/SIGTERM meanwhile,
 * removes the temporary file and leaves whatever was at the destination untouched.
 */
import { rmSync } from 'node:fs'
import { open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ExportTargetError } from './errors.js'

/** Error codes that mean the destination cannot be written, not a bug. */
const TARGET_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ENOSPC', 'EDQUOT', 'EROFS', 'EFBIG', 'ENAMETOOLONG', 'EEXIST'])

/** The temporary file `writeAtomically` writes `path` through (a hidden name beside it). */
export function temporaryPathFor (path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
}

/**
 * Runs `write(tmp)`, which writes the whole file at `tmp`, then renames it to `path`. Errors of the
 * file system on `tmp` or `path` become ExportTargetError; every other error is passed on. In
 * both cases the temporary file is gone.
 */
export async function writeAtomically<T> (path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  await checkDestination(path)
  const tmp = temporaryPathFor(path)
  const onSignal = (signal: NodeJS.Signals): void => {
    rmSync(tmp, { force: true })
    removeHandlers()
    // the default action now: the process ends by the signal, as it would have
    process.kill(process.pid, signal)
  }
  const removeHandlers = (): void => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const result = await write(tmp)
    const fh = await open(tmp, 'r+')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
    return result
  } catch (err: any) {
    await rm(tmp, { force: true })
    if (typeof err?.code === 'string' && TARGET_CODES.has(err.code) && (err.path === tmp || err.path === path || err.dest === path)) {
      throw new ExportTargetError(path, err.code, `cannot write ${path}: ${describe(err.code)}`)
    }
    throw err
  } finally {
    removeHandlers()
  }
}

/** Fails early, before any work, where the destination is a directory or its directory is missing. */
async function checkDestination (path: string): Promise<void> {
  const dir = dirname(path)
  let d
  try {
    d = await stat(dir)
  } catch (err: any) {
    throw new ExportTargetError(path, err?.code, `cannot write ${path}: ${describe(err?.code)} (${dir})`)
  }
  if (!d.isDirectory()) throw new ExportTargetError(path, 'ENOTDIR', `cannot write ${path}: ${dir} is not a directory`)
  try {
    if ((await stat(path)).isDirectory()) throw new ExportTargetError(path, 'EISDIR', `cannot write ${path}: it is a directory`)
  } catch (err: any) {
    if (err?.name === 'ExportTargetError') throw err
    if (err?.code !== 'ENOENT') throw new ExportTargetError(path, err?.code, `cannot write ${path}: ${describe(err?.code)}`)
  }
}

function describe (code: string | undefined): string {
  switch (code) {
    case 'ENOENT': return 'no such directory'
    case 'EACCES': case 'EPERM': return 'permission denied'
    case 'EISDIR': return 'it is a directory'
    case 'ENOTDIR': return 'a part of the path is not a directory'
    case 'ENOSPC': case 'EDQUOT': return 'no space left on the device'
    case 'EROFS': return 'read-only file system'
    default: return code ?? 'unknown error'
  }
}
