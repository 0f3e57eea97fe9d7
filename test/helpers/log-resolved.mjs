/**
 * Preload (`--import`) that appends every module URL the process resolves to the file named by
 * WHOISMESH_RESOLVE_LOG, one per line: a test can then tell which packages a command loaded.
 * The same file is the resolve hook, registered from the main thread.
 */
import { isMainThread } from 'node:worker_threads'
import { register } from 'node:module'
import { appendFileSync } from 'node:fs'

if (isMainThread) register(import.meta.url)

export async function resolve (specifier, context, next) {
  const resolved = await next(specifier, context)
  const log = process.env.WHOISMESH_RESOLVE_LOG
  if (log) appendFileSync(log, resolved.url + '\n')
  return resolved
}
