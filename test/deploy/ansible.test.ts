/**
 * The ansible/ playbooks for real: three hosts on this machine (local connections, each with its
 * own ports, release directory, data directory and service — several nodes on one machine, as
 * inventory.example shows), supervised by supervisord with the systemd unit's command line (no
 * systemd runs in CI), crawling a small sample against the simulator. Checks: two nodes on one
 * machine sharing a port and a prefix are refused before anything is installed; the nodes find
 * each other and finish the crawl with identical digests, collect.yml gathers identical dumps, a
 * second launch changes nothing, `--limit --check` works, the supervisor restarts a killed node, a
 * peer without the swarm key sees nobody, the unit passes `systemd-analyze verify`; stopped nodes
 * stay stopped when supervisord restarts and launch.yml starts them again; the operators'
 * commands, run as root as the docs give them, leave every file of a data directory the service
 * user's; remove.yml leaves no service, program, release or log behind, and the data only when asked.
 *
 * Needs root, ansible-playbook and supervisor (`.ci/run` installs them). Set
 * WHOISMESH_SKIP_DEPLOY_TEST=1 to skip it on a machine without them.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, mkdir, readFile, readdir, rm, chmod, chown, writeFile, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, spawnCli, waitFor } from '../helpers/cli.js'
import { skipOutsideCi } from '../helpers/skip.js'
import {
  changedTasks, freePort, hostLine, localVars, onHost, ownedByOthers, playbook, programPid, supervisorctl, tail, userIds, which, type LocalHost
} from '../helpers/ansible.js'

const HOSTS = ['n1', 'n2', 'n3']
const SAMPLE = 1500
/** the service user launch.yml creates (whoismesh_user's default) */
const SERVICE_USER = 'whoismesh'

const skip = process.env.WHOISMESH_SKIP_DEPLOY_TEST === '1' ? 'WHOISMESH_SKIP_DEPLOY_TEST=1' : false
if (skip === false) {
  assert.equal(process.getuid?.(), 0, 'the deployment test needs root (it creates a service user and supervised services); set WHOISMESH_SKIP_DEPLOY_TEST=1 to skip it')
  for (const cmd of ['ansible-playbook', 'supervisorctl']) assert.ok(which(cmd), `the deployment test needs ${cmd} (apt-get install ansible supervisor, as .ci/run does)`)
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

test('ansible: two nodes on one machine sharing a port and a prefix are refused, naming the clash, before anything is made', { skip, timeout: 5 * 60_000 }, async () => {
  const base = await mkdtemp(join(tmpdir(), 'whoismesh-clash-'))
  try {
    const port = await freePort()
    const hosts: LocalHost[] = []
    for (const n of ['a', 'b']) {
      hosts.push({ name: `clash-${n}`, port, metricsPort: await freePort(), prefix: join(base, 'opt'), data: join(base, n, 'data'), service: `whoismesh-ci-${process.pid}-clash-${n}` })
    }
    const inventory = join(base, 'inventory')
    await writeFile(inventory, ['[nodes]', ...hosts.map(hostLine), '', '[nodes:vars]', ...localVars(),
      `whoismesh_secrets_dir=${join(base, 'fleet')}`, `whoismesh_build_dir=${join(base, 'build')}`, ''].join('\n'))
    const r = await playbook('launch.yml', inventory)
    assert.notEqual(r.code, 0, `launch.yml accepted the clash:\n${tail(r.out)}`)
    for (const [me, other] of [[hosts[0], hosts[1]], [hosts[1], hosts[0]]]) {
      assert.match(r.out, new RegExp(`${me.name} clashes with another node on its machine: whoismesh_port ${port} is also ${other.name}'s whoismesh_port; whoismesh_prefix ${escape(me.prefix)} is also ${other.name}'s whoismesh_prefix\\. `), tail(r.out))
    }
    // refused first: no key made, nothing installed
    for (const path of [join(base, 'fleet'), join(base, 'build'), hosts[0].prefix, ...hosts.map(h => h.data), ...hosts.map(h => `/etc/supervisor/conf.d/${h.service}.conf`)]) {
      assert.equal(existsSync(path), false, `${path} was made`)
    }
  } finally {
    await rm(base, { recursive: true, force: true })
  }
})

test('ansible: launch a three-host fleet, collect identical dumps, relaunch with changed=0, stop, remove', { skip, timeout: 25 * 60_000 }, async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'whoismesh-ansible-'))
  await chmod(base, 0o755) // the service user must reach the data directories under it
  const tag = `whoismesh-ci-${process.pid}`
  const hosts: LocalHost[] = []
  for (const h of HOSTS) {
    hosts.push({ name: h, port: await freePort(), metricsPort: await freePort(), prefix: join(base, h, 'opt'), data: join(base, h, 'data'), service: `${tag}-${h}` })
  }
  const sim = spawnCli(['sim', '--budget', 'all=100', '--registries-out', join(base, 'sim.json')])
  const inventory = join(base, 'inventory')
  after(async () => {
    // leave the machine as it was: no supervised programs or their logs, no simulator, no files
    const left = hosts.some(h => existsSync(h.prefix) || existsSync(h.data) || existsSync(`/etc/supervisor/conf.d/${h.service}.conf`))
    if (left && existsSync(inventory)) await playbook('remove.yml', inventory, ['-e', 'whoismesh_remove_data=true'], 120_000).catch(() => {})
    for (const h of hosts) await rm(`/etc/supervisor/conf.d/${h.service}.conf`, { force: true })
    for (const f of await readdir('/var/log/supervisor').catch(() => [])) if (f.startsWith(`${tag}-`)) await rm(join('/var/log/supervisor', f), { force: true })
    supervisorctl('update')
    sim.kill('SIGKILL')
    await rm(base, { recursive: true, force: true })
  })
  await waitFor(() => existsSync(join(base, 'sim.json')), 60_000, 'the simulator')

  await writeFile(inventory, [
    '[nodes]',
    ...hosts.map(hostLine),
    '',
    '[nodes:vars]',
    ...localVars(),
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
  const owner = userIds(SERVICE_USER)
  const status = (h: LocalHost): string => supervisorctl('status', h.service)
  const program = async (h: LocalHost): Promise<string> => await readFile(`/etc/supervisor/conf.d/${h.service}.conf`, 'utf8')

  await t.test('the three nodes crawl the sample to completion with identical digests', async () => {
    const digests = new Map<string, string>()
    await waitFor(async () => {
      for (const h of hosts) {
        // as an operator asks a running node: root, through the host's command (it answers over its control endpoint)
        const r = await onHost(h, ['coverage', '--data', h.data, '--json'], 30_000)
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
    const pids = hosts.map(h => programPid(h.service))
    const again = await playbook('launch.yml', inventory)
    assert.equal(again.code, 0, tail(again.out))
    for (const h of HOSTS) assert.deepEqual({ changed: again.recap.get(h)?.changed, failed: again.recap.get(h)?.failed }, { changed: 0, failed: 0 }, `${h}:\n${tail(again.out)}`)
    assert.deepEqual(hosts.map(h => programPid(h.service)), pids)
  })

  await t.test('--limit and --check: one host, nothing to change', async () => {
    const r = await playbook('launch.yml', inventory, ['--limit', 'n2', '--check'])
    assert.equal(r.code, 0, tail(r.out))
    assert.deepEqual([...r.recap.keys()], ['n2'])
    assert.equal(r.recap.get('n2')?.changed, 0, tail(r.out))
  })

  await t.test('the unit passes systemd-analyze verify; supervisord runs the same command line', async (st) => {
    const unit = await readFile(join(hosts[0].prefix, `${hosts[0].service}.service`), 'utf8')
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1]
    assert.ok(execStart?.includes('--swarm-key') && !execStart.includes('--bootstrap'), execStart) // n1 is the bootstrap
    assert.equal(/^command=(.*)$/m.exec(await program(hosts[0]))?.[1], execStart)
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
    const pid = programPid(hosts[2].service)
    process.kill(pid, 'SIGKILL')
    await waitFor(() => {
      const now = programPid(hosts[2].service)
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
      const r = await onHost(h, ['distrust', '--data', h.data], 60_000)
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

  // a directory the service user may write, for the commands that write a file (--png, --out)
  const out = join(base, 'out')
  await mkdir(out)
  await chown(out, owner.uid, owner.gid)
  /** The per-host commands of README and docs/operating.md, run as root through the host's command; each must succeed. */
  const operatorCommands = async (h: LocalHost, stopped: boolean): Promise<void> => {
    const commands = [
      ['coverage', '--data', h.data],
      ['dump', '--data', h.data],
      ['dump', '--data', h.data, '--format', 'csv'],
      ['lookup', '207.48.60.1', '--data', h.data],
      ['coverage', '--png', join(out, `${h.name}.png`), '--size', '512', '--data', h.data],
      ['distrust', '--data', h.data],
      ['id', '--data', h.data],
      ...(stopped ? [['repair', '--data', h.data]] : [])
    ]
    for (const args of commands) {
      const r = await onHost(h, args)
      assert.equal(r.code, 0, `${h.name}: whoismesh ${args.join(' ')} exited ${String(r.code)}: ${r.stderr}`)
    }
  }

  await t.test('the operators\' commands, run as root beside a running node, leave every file of its data directory the service user\'s', async () => {
    await Promise.all(hosts.map(async h => await operatorCommands(h, false)))
    for (const h of hosts) assert.deepEqual(await ownedByOthers(h.data, owner), [], `${h.name}: files not owned by ${SERVICE_USER}`)
  })

  await t.test('stop.yml keeps stopped nodes stopped when supervisord starts again, while a node not stopped starts with it', async () => {
    const r = await playbook('stop.yml', inventory, ['--limit', 'n1:n2'])
    assert.equal(r.code, 0, tail(r.out))
    for (const h of hosts.slice(0, 2)) {
      assert.match(status(h), /STOPPED/, h.name)
      assert.match(await program(h), /^autostart=false$/m, h.name)
    }
    // n3, not stopped by stop.yml, goes down as at a reboot
    assert.match(supervisorctl('stop', hosts[2].service), /stopped/)
    // What supervisord does at its start (boot, restart) with each program: reads its config and
    // starts it if autostart=true. Done program by program (n3 last): restarting supervisord itself
    // would restart the programs of anything else on this machine.
    for (const h of hosts) {
      assert.match(supervisorctl('remove', h.service), /removed process group/, h.name)
      assert.match(supervisorctl('add', h.service), /added process group/, h.name)
    }
    await waitFor(() => programPid(hosts[2].service) > 0, 60_000, 'supervisord to start n3 again', 250)
    // the programs added before n3 had their chance to start
    for (const h of hosts.slice(0, 2)) assert.match(status(h), /STOPPED/, h.name)
  })

  await t.test('launch.yml starts the stopped nodes again and re-enables their autostart', async () => {
    const n3 = programPid(hosts[2].service)
    const r = await playbook('launch.yml', inventory, ['--limit', 'n1:n2'])
    assert.equal(r.code, 0, tail(r.out))
    // both counted the two others again before the launch ended
    assert.match(r.out, /n1 \(bootstrap\): 2 live peers/)
    for (const h of hosts.slice(0, 2)) {
      // started (it joined the others); RUNNING once it has lived startsecs=5
      await waitFor(() => /RUNNING/.test(status(h)), 60_000, `supervisord to count ${h.name} as RUNNING`, 250)
      assert.match(await program(h), /^autostart=true$/m, h.name)
    }
    assert.equal(programPid(hosts[2].service), n3, 'the node left running was restarted')
  })

  await t.test('stop.yml stops every node; a second stop changes nothing', async () => {
    const r = await playbook('stop.yml', inventory)
    assert.equal(r.code, 0, tail(r.out))
    for (const h of hosts) {
      assert.match(status(h), /STOPPED/, h.name)
      // the data survive a stop
      assert.ok((await stat(join(h.data, 'peer.key'))).isFile())
    }
    const again = await playbook('stop.yml', inventory)
    assert.equal(again.code, 0, tail(again.out))
    for (const h of HOSTS) assert.equal(again.recap.get(h)?.changed, 0, `${h}:\n${tail(again.out)}`)
  })

  await t.test('the operators\' commands, run as root on a stopped node\'s data directory, leave every file the service user\'s', async () => {
    await Promise.all(hosts.map(async h => await operatorCommands(h, true)))
    for (const h of hosts) assert.deepEqual(await ownedByOthers(h.data, owner), [], `${h.name}: files not owned by ${SERVICE_USER}`)
  })

  await t.test('remove.yml leaves no service, program, release or log; the data stay unless asked', async () => {
    const logs = async (h: LocalHost): Promise<string[]> => (await readdir('/var/log/supervisor')).filter(f => f.startsWith(`${h.service}.log`))
    for (const h of hosts) assert.ok((await logs(h)).length > 0, `${h.name} has no log to remove`)
    const r = await playbook('remove.yml', inventory)
    assert.equal(r.code, 0, tail(r.out))
    const programs = supervisorctl('avail')
    for (const h of hosts) {
      assert.equal(existsSync(`/etc/supervisor/conf.d/${h.service}.conf`), false, `${h.name}: program config left`)
      assert.ok(!programs.includes(h.service), `${h.name}: supervisord still has the program:\n${programs}`)
      assert.equal(existsSync(h.prefix), false, `${h.name}: ${h.prefix} (releases, command, unit) left`)
      assert.deepEqual(await logs(h), [], `${h.name}: logs left`)
      assert.ok((await stat(join(h.data, 'peer.key'))).isFile(), `${h.name}: the data went without whoismesh_remove_data`)
    }
    // run again, asked for the data: that is all it changes
    const data = await playbook('remove.yml', inventory, ['-e', 'whoismesh_remove_data=true'])
    assert.equal(data.code, 0, tail(data.out))
    assert.deepEqual([...changedTasks(data.out)].map(([task, on]) => [task, on.sort()]), [['Remove the data directory (whoismesh_remove_data=true)', HOSTS]], tail(data.out))
    for (const h of hosts) assert.equal(existsSync(h.data), false, `${h.name}: ${h.data} left`)
  })
})
