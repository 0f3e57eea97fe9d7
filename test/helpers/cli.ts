/**
 * Runs the real `whoismesh` command as a child process: the compiled dist/cli/bin.js that
 * package.json's `bin` names and the package ships (`npm test` builds it first).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url))

/**
 * Throws unless dist/ was built after the last change in src/ (scripts/build.js touches the bin
 * last), so that a test run on its own (`node --import tsx --test test/x.test.ts`) never tests
 * stale code: run `npm run build` first.
 */
export function assertBuilt (): void {
  const src = fileURLToPath(new URL('../../src', import.meta.url))
  let built: number
  try {
    built = statSync(BIN).mtimeMs
  } catch {
    throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
  }
  const newer = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name)
      const found = e.isDirectory() ? newer(p) : statSync(p).mtimeMs > built ? p : undefined
      if (found !== undefined) return found
    }
    return undefined
  }
  const changed = newer(src)
  if (changed !== undefined) throw new Error(`${changed} changed after the last build: run \`npm run build\` first (npm test does)`)
}
assertBuilt()

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/** Runs to completion (killed after `timeoutMs`). */
export async function runCli (args: string[], opts: { cwd?: string, timeoutMs?: number, env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = spawnCli(args, opts)
  return await collect(child, opts.timeoutMs ?? 120_000)
}

export function spawnCli (args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
}

export async function collect (child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.on('close', (c, s) => resolve([c, s])))
  clearTimeout(timer)
  return { code, signal, stdout, stderr }
}

/** `whoismesh coverage --json` of a data directory (a stopped node's, or a running one's over its control endpoint), asserted to succeed. */
export async function coverageJson (data: string, timeoutMs = 120_000): Promise<any> {
  const r = await runCli(['coverage', '--json', '--data', data], { timeoutMs })
  if (r.code !== 0) throw new Error(`whoismesh coverage --data ${data} exited ${String(r.code)}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

export { waitFor } from './wait.js'
