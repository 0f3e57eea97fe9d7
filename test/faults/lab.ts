/**
 * A network lab for the fault suite: several hosts on one machine, each a network namespace
 * (`ip netns`) with its own address on one virtual switch — a bridge inside a namespace of its
 * own, so the machine's own network is never touched. Nodes, the simulator and the lossy-link
 * proxy run inside the namespaces (`ip netns exec`); only the lab's 10.77.0.0/24 and each
 * namespace's loopback carry traffic.
 *
 * Faults: partition(a, b) drops every packet between two groups of hosts (iptables in each
 * member), linkDown/linkUp take a host's cable out and back, and slowLinks() sends every
 * node-to-node connection through a userspace TCP proxy (test/faults/tcp-proxy.ts) that adds
 * delay and jitter, resets connections and caps bandwidth (the kernel here lacks netem).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const run = promisify(execFile)
const PROXY_SCRIPT = fileURLToPath(new URL('./tcp-proxy.ts', import.meta.url))
const SUBNET = '10.77.0'
/** the port every lab node listens on */
export const NODE_PORT = 4001

export interface LabHost {
  name: string
  /** namespace name */
  ns: string
  ip: string
  /** the switch-side end of its cable */
  switchPort: string
}

async function sh (cmd: string, args: string[]): Promise<string> {
  try {
    return (await run(cmd, args, { timeout: 30_000 })).stdout
  } catch (err: any) {
    throw new Error(`${cmd} ${args.join(' ')}: ${String(err.stderr ?? err.message).trim()}`)
  }
}

/** true when this process may create namespaces (root with iproute2 and iptables) */
export async function labAvailable (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)'
  for (const cmd of ['ip', 'iptables']) {
    try { await run('sh', ['-c', `command -v ${cmd}`]) } catch { return `needs ${cmd} (apt-get install iproute2 iptables)` }
  }
  return undefined
}

export class Lab {
  readonly prefix: string
  readonly hosts: LabHost[] = []
  readonly switchNs: string
  private readonly children = new Set<ChildProcess>()
  private proxy: ChildProcess | undefined
  private partitioned: LabHost[] = []

  private constructor (prefix: string) {
    this.prefix = prefix
    this.switchNs = `${prefix}-sw`
  }

  /**
   * Creates the switch and `names.length` hosts named as given (addresses 10.77.0.1, .2, …).
   * Interface names are at most 15 characters, so the prefix is short and unique per process.
   */
  static async create (names: string[]): Promise<Lab> {
    const lab = new Lab(`wm${process.pid % 100000}`)
    await lab.destroy() // leftovers of a crashed run with the same pid
    await sh('ip', ['netns', 'add', lab.switchNs])
    await sh('ip', ['-n', lab.switchNs, 'link', 'add', 'br0', 'type', 'bridge'])
    await sh('ip', ['-n', lab.switchNs, 'link', 'set', 'br0', 'up'])
    for (const [i, name] of names.entries()) await lab.addHost(name, i + 1)
    return lab
  }

  private async addHost (name: string, index: number): Promise<LabHost> {
    const host: LabHost = { name, ns: `${this.prefix}-${name}`, ip: `${SUBNET}.${index}`, switchPort: `${this.prefix}s${index}` }
    const hostIf = `${this.prefix}h${index}`
    await sh('ip', ['netns', 'add', host.ns])
    await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', host.switchPort])
    await sh('ip', ['link', 'set', hostIf, 'netns', host.ns])
    await sh('ip', ['link', 'set', host.switchPort, 'netns', this.switchNs])
    await sh('ip', ['-n', this.switchNs, 'link', 'set', host.switchPort, 'master', 'br0'])
    await sh('ip', ['-n', this.switchNs, 'link', 'set', host.switchPort, 'up'])
    await sh('ip', ['-n', host.ns, 'link', 'set', hostIf, 'name', 'eth0'])
    await sh('ip', ['-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0'])
    await sh('ip', ['-n', host.ns, 'link', 'set', 'eth0', 'up'])
    await sh('ip', ['-n', host.ns, 'link', 'set', 'lo', 'up'])
    this.hosts.push(host)
    return host
  }

  host (name: string): LabHost {
    const h = this.hosts.find(x => x.name === name)
    if (h == null) throw new Error(`no lab host ${name}`)
    return h
  }

  /** Starts a process inside a host's namespace (killed by destroy()). */
  spawn (host: LabHost, cmd: string, args: string[], opts: { stdio?: any } = {}): ChildProcess {
    // `ip netns exec` execs the command, so the child's pid is the command's own
    const child = spawn('ip', ['netns', 'exec', host.ns, cmd, ...args], { stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'] })
    this.children.add(child)
    child.on('close', () => this.children.delete(child))
    return child
  }

  /** Runs a command inside a host's namespace to completion. */
  async exec (host: LabHost, cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null, stdout: string, stderr: string }> {
    return await new Promise(resolve => {
      execFile('ip', ['netns', 'exec', host.ns, cmd, ...args], { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err: any, stdout, stderr) => {
        resolve({ code: err == null ? 0 : (typeof err.code === 'number' ? err.code : null), stdout, stderr })
      })
    })
  }

  /** GET (or POST) a URL from inside a host's namespace (the simulator's stats, a node's metrics). */
  async fetchText (host: LabHost, url: string, method = 'GET'): Promise<string> {
    const r = await this.exec(host, process.execPath, ['-e', `fetch(${JSON.stringify(url)}, { method: ${JSON.stringify(method)} }).then(r => r.text()).then(t => process.stdout.write(t), e => { console.error(String(e)); process.exit(1) })`], 30_000)
    if (r.code !== 0) throw new Error(`GET ${url} from ${host.name}: ${r.stderr.trim()}`)
    return r.stdout
  }

  /** Drops every packet between the two groups (the simulator's host stays reachable from both). */
  async partition (a: LabHost[], b: LabHost[]): Promise<void> {
    for (const [mine, theirs] of [[a, b], [b, a]]) {
      for (const h of mine) {
        for (const t of theirs) {
          await sh('ip', ['netns', 'exec', h.ns, 'iptables', '-A', 'INPUT', '-s', t.ip, '-j', 'DROP'])
          await sh('ip', ['netns', 'exec', h.ns, 'iptables', '-A', 'OUTPUT', '-d', t.ip, '-j', 'DROP'])
        }
        this.partitioned.push(h)
      }
    }
  }

  /** Removes every partition rule. */
  async heal (): Promise<void> {
    for (const h of new Set(this.partitioned)) {
      await sh('ip', ['netns', 'exec', h.ns, 'iptables', '-F', 'INPUT'])
      await sh('ip', ['netns', 'exec', h.ns, 'iptables', '-F', 'OUTPUT'])
    }
    this.partitioned = []
  }

  async linkDown (host: LabHost): Promise<void> { await sh('ip', ['-n', this.switchNs, 'link', 'set', host.switchPort, 'down']) }
  async linkUp (host: LabHost): Promise<void> { await sh('ip', ['-n', this.switchNs, 'link', 'set', host.switchPort, 'up']) }

  /**
   * Sends every connection between the given node hosts through the lossy proxy running on
   * `proxyHost`: in each node's namespace, connections to another node's NODE_PORT are DNAT-ed to
   * the proxy, which forwards them with `delayMs` ± `jitterMs` per chunk (order kept), resets a
   * connection with probability `resetPerSecond` each second, and caps each direction at
   * `bytesPerSecond`. Returns when the proxy listens.
   */
  async slowLinks (nodes: LabHost[], proxyHost: LabHost, o: { delayMs: number, jitterMs: number, resetPerSecond: number, bytesPerSecond: number, seed?: number }): Promise<ProxyStats> {
    const routes = nodes.map((h, i) => ({ listenPort: 5000 + i, target: `${h.ip}:${NODE_PORT}` }))
    const stats: ProxyStats = { connections: 0, resets: 0, bytes: 0 }
    const proxy = this.spawn(proxyHost, process.execPath, ['--import', 'tsx', PROXY_SCRIPT, JSON.stringify({ host: proxyHost.ip, routes, ...o })])
    this.proxy = proxy
    await new Promise<void>((resolve, reject) => {
      let buf = ''
      proxy.stdout!.setEncoding('utf8').on('data', (d: string) => {
        buf += d
        let i: number
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i); buf = buf.slice(i + 1)
          if (line === 'listening') resolve()
          else if (line.startsWith('{')) Object.assign(stats, JSON.parse(line))
        }
      })
      proxy.on('close', code => reject(new Error(`the proxy exited (${String(code)})`)))
      setTimeout(() => reject(new Error('the proxy did not start')), 30_000)
    })
    for (const h of nodes) {
      for (const [i, t] of nodes.entries()) {
        if (t === h) continue
        await sh('ip', ['netns', 'exec', h.ns, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', t.ip, '--dport', String(NODE_PORT), '-j', 'DNAT', '--to-destination', `${proxyHost.ip}:${routes[i].listenPort}`])
      }
    }
    return stats
  }

  /** Kills everything started in the lab and deletes its namespaces (safe to call twice). */
  async destroy (): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL')
    await Promise.all([...this.children].map(async c => await new Promise(resolve => { if (c.exitCode != null || c.signalCode != null) resolve(null); else c.once('close', resolve) })))
    this.proxy = undefined
    const list = await sh('ip', ['netns', 'list']).catch(() => '')
    for (const line of list.split('\n')) {
      const ns = line.split(' ')[0]
      if (ns.startsWith(`${this.prefix}-`)) await sh('ip', ['netns', 'del', ns]).catch(() => {})
    }
  }
}

/** Counters the proxy reports about once a second. */
export interface ProxyStats { connections: number, resets: number, bytes: number }
