/**
 * `ansible-playbook launch.yml` for real: three hosts on this machine (local connections, each
 * with its own ports, release directory, data directory and service), supervised by supervisord
 * with the systemd unit's command line (no systemd runs in CI), crawling a small sample against
 * the simulator. Checks: the nodes find each other and finish the crawl with identical digests,
 * collect.yml gathers identical dumps, a second launch changes nothing, `--limit --check` works,
 * the supervisor restarts a killed node, a peer without the swarm key sees nobody, the unit
 * passes `systemd-analyze verify`, and stop.yml stops the fleet.
 *
 * Needs root, ansible-playbook and supervisor (`.ci/run` installs them). Set
 * WHOISMESH_SKIP_DEPLOY_TEST=1 to skip it on a machine without them.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, chmod, writeFile, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCli, spawnCli, waitFor } from '../helpers/cli.js'
import { skipOutsideCi } from '../helpers/skip.js'

const ANSIBLE_DIR = fileURLToPath(new URL('../../ansible/', import.meta.url))
const HOSTS = ['n1', 'n2', 'n3']
const SAMPLE = 1500

function which (cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true } catch { return false }
}

const skip = process.env.WHOISMESH_SKIP_DEPLOY_TEST === '1' ? 'WHOISMESH_SKIP_DEPLOY_TEST=1' : false
if (skip === false) {
  assert.equal(process.getuid?.(), 0, 'the deployment test needs root (it creates a service user and supervised services); set WHOISMESH_SKIP_DEPLOY_TEST=1 to skip it')
  for (const cmd of ['ansible-playbook', 'supervisorctl']) assert.ok(which(cmd), `the deployment test needs ${cmd} (apt-get install ansible supervisor, as .ci/run does)`)
}

/**
 * A port that is free now and stays out of other tests' way: below Linux's ephemeral range
 * (32768–60999), which every `listen(0)` and outgoing connection of the other tests draws from —
 * the nodes start minutes after the ports are chosen.
 */
const chosen = new Set<number>()
async function freePort (): Promise<number> {
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

interface Recap { ok: number, changed: number, failed: number, unreachable: number }

/** Runs a playbook; returns its output and the PLAY RECAP per host. */
async function playbook (name: string, inventory: string, extra: string[] = [], timeoutMs = 600_000): Promise<{ code: number | null, out: string, recap: Map<string, Recap> }> {
  const child = spawn('ansible-playbook', ['-i', inventory, name, ...extra], {
    cwd: ANSIBLE_DIR,
    env: { ...process.env, ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
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

/** The end of a playbook's output, after every task failure in it (a failed host drops out early). */
function tail (s: string, n = 4000): string {
  const failures = s.split('\n').filter(l => /^(fatal|failed): \[/.test(l)).map(l => l.slice(0, 1500))
  const end = s.length > n ? '…' + s.slice(-n) : s
  return failures.length > 0 ? `${failures.join('\n')}\n…\n${end}` : end
}

test('ansible: launch a three-host fleet, collect identical dumps, relaunch with changed=0', { skip, timeout: 25 * 60_000 }, async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'whoismesh-ansible-'))
  await chmod(base, 0o755) // the service user must reach the data directories under it
  const tag = `whoismesh-ci-${process.pid}`
  const hosts = await Promise.all(HOSTS.map(async h => ({
    name: h,
    port: await freePort(),
    metricsPort: await freePort(),
    prefix: join(base, h, 'opt'),
    data: join(base, h, 'data'),
    service: `${tag}-${h}`
  })))
  const sim = spawnCli(['sim', '--budget', 'all=100', '--registries-out', join(base, 'sim.json')])
  let inventory = ''
  after(async () => {
    // leave the machine as it was: no supervised programs, no simulator, no files
    if (inventory !== '') await playbook('stop.yml', inventory, [], 120_000).catch(() => {})
    for (const h of hosts) await rm(`/etc/supervisor/conf.d/${h.service}.conf`, { force: true })
    try { execFileSync('supervisorctl', ['update'], { stdio: 'ignore' }) } catch {}
    sim.kill('SIGKILL')
    await rm(base, { recursive: true, force: true })
  })
  await waitFor(() => existsSync(join(base, 'sim.json')), 60_000, 'the simulator')

  inventory = join(base, 'inventory')
  await writeFile(inventory, [
    '[nodes]',
    ...hosts.map(h => `${h.name} whoismesh_port=${h.port} whoismesh_metrics_port=${h.metricsPort} whoismesh_prefix=${h.prefix} whoismesh_data_dir=${h.data} whoismesh_service_name=${h.service}`),
    '',
    '[nodes:vars]',
    'ansible_connection=local',
    'ansible_become_method=su',
    `ansible_python_interpreter=${which('/usr/bin/python3') ? '/usr/bin/python3' : 'auto_silent'}`,
    'whoismesh_address=127.0.0.1',
    'whoismesh_listen_host=127.0.0.1',
    `whoismesh_secrets_dir=${join(base, 'fleet')}`,
    `whoismesh_build_dir=${join(base, 'build')}`,
    `whoismesh_collect_dir=${join(base, 'collected')}`,
    `whoismesh_registries_file=${join(base, 'sim.json')}`,
    `whoismesh_sample_limit=${SAMPLE}`,
    'whoismesh_budget=all=100',
    'whoismesh_heartbeat_ms=1000',
    ''
  ].join('\n'))

  const first = await playbook('launch.yml', inventory)
  assert.equal(first.code, 0, `launch.yml failed:\n${tail(first.out)}`)
  for (const h of HOSTS) assert.equal(first.recap.get(h)?.failed, 0, h)
  // the launch itself waited until every node counted the two others as live peers
  assert.match(first.out, /n1 \(bootstrap\): 2 live peers/)

  await t.test('the three nodes crawl the sample to completion with identical digests', async () => {
    const digests = new Map<string, string>()
    await waitFor(async () => {
      for (const h of hosts) {
        // a running node answers over its control endpoint (nothing is opened as root)
        const r = await runCli(['coverage', '--data', h.data, '--json'], { timeoutMs: 30_000 })
        if (r.code !== 0) return false
        const c = JSON.parse(r.stdout)
        if (c.sample_resolved !== SAMPLE || c.sample_total !== SAMPLE) return false
        digests.set(h.name, c.digest)
      }
      return new Set(digests.values()).size === 1
    }, 240_000, 'every node to finish with the same digest', 2000)
  })

  await t.test('collect.yml gathers identical dumps and merges them', async () => {
    const r = await playbook('collect.yml', inventory)
    assert.equal(r.code, 0, tail(r.out))
    const dumps = await Promise.all(HOSTS.map(async h => await readFile(join(base, 'collected', `${h}.jsonl`), 'utf8')))
    const merged = await readFile(join(base, 'collected', 'merged.jsonl'), 'utf8')
    assert.ok(dumps[0].length > 0)
    assert.equal(dumps[1], dumps[0])
    assert.equal(dumps[2], dumps[0])
    assert.equal(merged, dumps[0])
    assert.match(r.out, /dumps identical: True/)
    for (const line of merged.trim().split('\n')) assert.ok(JSON.parse(line).cidr)
  })

  await t.test('a second launch changes nothing and restarts nothing', async () => {
    const pids = HOSTS.map(h => execFileSync('supervisorctl', ['pid', `${tag}-${h}`], { encoding: 'utf8' }).trim())
    const again = await playbook('launch.yml', inventory)
    assert.equal(again.code, 0, tail(again.out))
    for (const h of HOSTS) assert.deepEqual({ changed: again.recap.get(h)?.changed, failed: again.recap.get(h)?.failed }, { changed: 0, failed: 0 }, `${h}:\n${tail(again.out)}`)
    assert.deepEqual(HOSTS.map(h => execFileSync('supervisorctl', ['pid', `${tag}-${h}`], { encoding: 'utf8' }).trim()), pids)
  })

  await t.test('--limit and --check: one host, nothing to change', async () => {
    const r = await playbook('launch.yml', inventory, ['--limit', 'n2', '--check'])
    assert.equal(r.code, 0, tail(r.out))
    assert.deepEqual([...r.recap.keys()], ['n2'])
    assert.equal(r.recap.get('n2')?.changed, 0, tail(r.out))
  })

  await t.test('the unit passes systemd-analyze verify; supervisord runs the same command line', async (st) => {
    const unit = await readFile(join(hosts[0].prefix, `${hosts[0].service}.service`), 'utf8')
    const program = await readFile(`/etc/supervisor/conf.d/${hosts[0].service}.conf`, 'utf8')
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1]
    assert.ok(execStart?.includes('--swarm-key') && !execStart.includes('--bootstrap'), execStart) // n1 is the bootstrap
    assert.equal(/^command=(.*)$/m.exec(program)?.[1], execStart)
    assert.match(unit, /^Restart=always$/m)
    if (!which('systemd-analyze')) { skipOutsideCi(st, 'systemd-analyze not installed'); return }
    execFileSync('systemd-analyze', ['verify', join(hosts[0].prefix, `${hosts[0].service}.service`)], { stdio: 'pipe' })
  })

  await t.test('a peer without the fleet key sees no node; one with it sees all three', async () => {
    const id = (await runCli(['id', '--data', join(base, 'fleet', 'nodes', 'n1')])).stdout.trim()
    const addr = `/ip4/127.0.0.1/tcp/${hosts[0].port}/p2p/${id}`
    const outsider = await runCli(['metrics', '--bootstrap', addr, '--listen', '/ip4/127.0.0.1/tcp/0', '--wait-ms', '5000'], { timeoutMs: 60_000 })
    // heard no node: exit 3 and one line saying the connection itself failed (no swarm key)
    assert.equal(outsider.code, 3, outsider.stderr)
    assert.deepEqual(JSON.parse(outsider.stdout), [])
    assert.match(outsider.stderr, /^whoismesh: reached no node: could not connect to /)
    const member = await runCli(['metrics', '--bootstrap', addr, '--listen', '/ip4/127.0.0.1/tcp/0', '--wait-ms', '5000', '--swarm-key', join(base, 'fleet', 'swarm.key')], { timeoutMs: 60_000 })
    assert.equal(member.code, 0, member.stderr)
    assert.equal(JSON.parse(member.stdout).length, 3)
  })

  await t.test('the supervisor restarts a node killed with SIGKILL', async () => {
    const name = `${tag}-n3`
    const pid = Number(execFileSync('supervisorctl', ['pid', name], { encoding: 'utf8' }).trim())
    process.kill(pid, 'SIGKILL')
    await waitFor(() => {
      const now = Number(execFileSync('supervisorctl', ['pid', name], { encoding: 'utf8' }).trim())
      return now > 0 && now !== pid
    }, 60_000, 'supervisord to restart the node', 500)
    await waitFor(async () => {
      try {
        const text = await (await fetch(`http://127.0.0.1:${hosts[2].metricsPort}/metrics`)).text()
        return /^whoismesh_live_peers 2$/m.test(text)
      } catch { return false }
    }, 90_000, 'the restarted node to rejoin', 1000)
  })

  await t.test('distrust.yml distrusts a peer on every running node, and trusts it again with undo=true', async () => {
    const peer = '12D3KooWDistrustedPeerTest444444444444444444444444'
    const listed = async (): Promise<string[]> => await Promise.all(hosts.map(async h => {
      const r = await runCli(['distrust', '--data', h.data], { timeoutMs: 60_000 })
      assert.equal(r.code, 0, r.stderr)
      return r.stdout
    }))
    const r = await playbook('distrust.yml', inventory, ['-e', `peer=${peer}`], 180_000)
    assert.equal(r.code, 0, tail(r.out))
    // no record of that peer was held: nothing dropped, nothing reported changed
    for (const h of hosts) assert.equal(r.recap.get(h.name)?.changed, 0, tail(r.out))
    assert.deepEqual(await listed(), hosts.map(() => `${peer}\n`))
    const undo = await playbook('distrust.yml', inventory, ['-e', `peer=${peer}`, '-e', 'undo=true'], 180_000)
    assert.equal(undo.code, 0, tail(undo.out))
    assert.deepEqual(await listed(), hosts.map(() => ''))
  })

  await t.test('stop.yml stops every node', async () => {
    const r = await playbook('stop.yml', inventory)
    assert.equal(r.code, 0, tail(r.out))
    for (const h of hosts) {
      const status = (() => { try { return execFileSync('supervisorctl', ['status', h.service], { encoding: 'utf8' }) } catch (err: any) { return String(err.stdout) } })()
      assert.match(status, /STOPPED/, status)
      // the data survive a stop
      assert.ok((await stat(join(h.data, 'peer.key'))).isFile())
    }
  })
})
