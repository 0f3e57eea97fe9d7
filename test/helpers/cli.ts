/** Runs the real `whoismesh` command (src/cli/bin.js) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url))

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

/** Resolves when `predicate` holds, polling every `intervalMs`; rejects after `timeoutMs`. */
export async function waitFor (predicate: () => Promise<boolean> | boolean, timeoutMs: number, what: string, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await predicate()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
