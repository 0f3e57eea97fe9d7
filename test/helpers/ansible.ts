/**
 * For test/deploy: running the ansible/ playbooks, the hosts they deploy on this machine, the
 * supervisord programs they install, and the operators' command on a host.
 */
import { spawn, execFileSync } from 'node:child_process'
import { lstat, readdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { collect, type CliResult } from './cli.js'

export const ANSIBLE_DIR = fileURLToPath(new URL('../../ansible/', import.meta.url))

export function which (cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true } catch { return false }
}

/**
 * A port that is free now and stays out of other tests' way: below Linux's ephemeral range
 * (32768–60999), which every `listen(0)` and outgoing connection of the other tests draws from —
 * the nodes start minutes after the ports are chosen.
 */
const chosen = new Set<number>()
export async function freePort (): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (chosen.has(port)) continue
    chosen.add(port)
    const free = await new Promise<boolean>(resolve => {
      const s = createServer()
      s.once('error', () => resolve(false))
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
    })
    if (free) return port
  }
  throw new Error('no free port between 20000 and 32000')
}

export interface Recap { ok: number, changed: number, failed: number, unreachable: number }

/** Runs a playbook of ansible/; returns its output and the PLAY RECAP per host. */
export async function playbook (name: string, inventory: string, extra: string[] = [], timeoutMs = 600_000): Promise<{ code: number | null, out: string, recap: Map<string, Recap> }> {
  const child = spawn('ansible-playbook', ['-i', inventory, name, ...extra], {
    cwd: ANSIBLE_DIR,
    env: { ...process.env, ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  // one stream, in the order written: warnings (stderr) where they happened
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)))
  clearTimeout(timer)
  const recap = new Map<string, Recap>()
  for (const m of out.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
    recap.set(m[1], { ok: Number(m[2]), changed: Number(m[3]), unreachable: Number(m[4]), failed: Number(m[5]) })
  }
  return { code, out, recap }
}

/** The tasks of a playbook's output that changed something, each with the hosts it changed. */
export function changedTasks (out: string): Map<string, string[]> {
  const changed = new Map<string, string[]>()
  let task = ''
  for (const line of out.split('\n')) {
    const t = /^TASK \[(.*)\] \**$/.exec(line)
    if (t !== null) task = t[1]
    const c = /^changed: \[([^\]]+)\]/.exec(line)
    if (c !== null) changed.set(task, [...(changed.get(task) ?? []), c[1]])
  }
  return changed
}

/** The end of a playbook's output, after every task failure in it (a failed host drops out early). */
export function tail (s: string, n = 4000): string {
  const failures = s.split('\n').filter(l => /^(fatal|failed): \[/.test(l)).map(l => l.slice(0, 1500))
  const end = s.length > n ? '…' + s.slice(-n) : s
  return failures.length > 0 ? `${failures.join('\n')}\n…\n${end}` : end
}

/** One host of an inventory deployed on this machine. */
export interface LocalHost {
  name: string
  port: number
  metricsPort: number
  prefix: string
  data: string
  service: string
}

/** The inventory line of a host on this machine, with the settings that keep it apart from the others. */
export function hostLine (h: LocalHost): string {
  return `${h.name} whoismesh_port=${h.port} whoismesh_metrics_port=${h.metricsPort} whoismesh_prefix=${h.prefix} whoismesh_data_dir=${h.data} whoismesh_service_name=${h.service}`
}

/** `[nodes:vars]` for hosts on this machine: local connections, loopback addresses. */
export function localVars (): string[] {
  return [
    'ansible_connection=local',
    'ansible_become_method=su',
    `ansible_python_interpreter=${which('/usr/bin/python3') ? '/usr/bin/python3' : 'auto_silent'}`,
    'whoismesh_address=127.0.0.1',
    'whoismesh_listen_host=127.0.0.1'
  ]
}

/** `supervisorctl ARGS…`'s output, also when it exits non-zero (a stopped program, an unknown name). */
export function supervisorctl (...args: string[]): string {
  try { return execFileSync('supervisorctl', args, { encoding: 'utf8' }) } catch (err: any) { return String(err.stdout ?? '') }
}

/** The pid of a supervisord program: 0 while it is stopped, NaN while supervisord does not answer. */
export function programPid (name: string): number {
  return Number(supervisorctl('pid', name).trim())
}

/** The operators' command a launch installs on a host (`<prefix>/whoismesh`), run as this test's user (root). */
export async function onHost (h: LocalHost, args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return await collect(spawn(join(h.prefix, 'whoismesh'), args, { stdio: ['ignore', 'pipe', 'pipe'] }), timeoutMs)
}

/** The uid and gid of a user of this machine. */
export function userIds (user: string): { uid: number, gid: number } {
  return { uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' })) }
}

/** Every file and directory under `dir` (itself included) whose owner or group is not uid/gid, as "path uid:gid". */
export async function ownedByOthers (dir: string, owner: { uid: number, gid: number }): Promise<string[]> {
  const found: string[] = []
  const walk = async (p: string): Promise<void> => {
    const s = await lstat(p)
    if (s.uid !== owner.uid || s.gid !== owner.gid) found.push(`${p} ${s.uid}:${s.gid}`)
    if (s.isDirectory()) for (const e of await readdir(p)) await walk(join(p, e))
  }
  await walk(dir)
  return found
}
