#!/usr/bin/env node
// `npm run test:load`: the whole suite on an oversubscribed machine, several runs in a row. Beside
// the suite (scripts/run-tests.js, two test files at a time), CPU-bound busy loops — by default
// one per core — keep every core taken, as on a shared CI runner or a user's busy laptop. A test
// that fails here and not on a quiet machine has a race: fix its cause, never loosen what it asserts.
//
//   npm run test:load [-- --runs 3 --loops N --run-timeout-min 90 [test filters…]]
//
// Every run goes to the end (a failing run does not stop the next); the exit code is 0 only if
// every run passed. Each run's TAP output is kept in test-load-<n>.log in the OS temp dir, and
// a summary line per run (pass/fail counts, failing tests, load average) is printed.
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

const { values: args, positionals: filters } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '3' },
    loops: { type: 'string', default: String(cpus().length) },
    'run-timeout-min': { type: 'string', default: '90' }
  }
})
const runs = Number(args.runs)
const loops = Number(args.loops)
const runTimeoutMs = Number(args['run-timeout-min']) * 60_000
for (const [name, v] of [['--runs', runs], ['--loops', loops], ['--run-timeout-min', runTimeoutMs]]) {
  if (!Number.isInteger(v) || v < 0 || (name !== '--loops' && v === 0)) {
    console.error(`test:load: ${name} must be a whole number${name === '--loops' ? '' : ' above 0'}`)
    process.exit(2)
  }
}
const root = fileURLToPath(new URL('..', import.meta.url))

// A busy loop that stops by itself after the longest the whole job may take, should this script
// be killed without a chance to stop it.
const loopLifetimeMs = runs * runTimeoutMs + 60_000
const busy = []
for (let i = 0; i < loops; i++) {
  busy.push(spawn(process.execPath, ['-e', `const end = Date.now() + ${loopLifetimeMs}; let x = 0; while (Date.now() < end) x++`], { stdio: 'ignore' }))
}
const stopLoops = () => { for (const b of busy) if (b.exitCode == null) b.kill('SIGKILL') }
process.on('exit', stopLoops)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopLoops(); process.exit(130) })

const results = []
for (let n = 1; n <= runs; n++) {
  const log = join(tmpdir(), `test-load-${n}.log`)
  const out = createWriteStream(log)
  const t0 = Date.now()
  const loads = []
  const sampler = setInterval(() => loads.push(loadavg()[0]), 10_000)
  const child = spawn(process.execPath, [join(root, 'scripts/run-tests.js'), ...filters], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let tail = ''
  const failing = []
  const counts = {}
  child.stdout.setEncoding('utf8').on('data', d => {
    out.write(d)
    tail += d
    const lines = tail.split('\n')
    tail = lines.pop()
    for (const line of lines) {
      const m = /^\s*not ok \d+ - (.*)$/.exec(line)
      if (m != null && !/^\/.*\.test\.ts$/.test(m[1])) failing.push(m[1])
      const c = /^# (tests|pass|fail|cancelled|skipped) (\d+)$/.exec(line)
      if (c != null) counts[c[1]] = Number(c[2])
    }
  })
  child.stderr.pipe(out, { end: false })
  const timer = setTimeout(() => { out.write(`\ntest:load: run ${n} went past ${args['run-timeout-min']} min: killed\n`); child.kill('SIGKILL') }, runTimeoutMs)
  const code = await new Promise(resolve => child.on('close', c => resolve(c)))
  clearTimeout(timer)
  clearInterval(sampler)
  out.end()
  const minutes = ((Date.now() - t0) / 60_000).toFixed(1)
  const load = loads.length === 0 ? loadavg()[0] : loads.reduce((a, b) => a + b, 0) / loads.length
  const passed = code === 0
  results.push(passed)
  console.log(`test:load run ${n}/${runs}: ${passed ? 'passed' : 'FAILED'} in ${minutes} min; tests ${counts.tests ?? '?'}, pass ${counts.pass ?? '?'}, fail ${counts.fail ?? '?'}, skipped ${counts.skipped ?? '?'}; ` +
    `${loops} busy loops on ${cpus().length} cores, mean 1-minute load average ${load.toFixed(1)}; log ${log}`)
  for (const f of failing) console.log(`  not ok: ${f}`)
}
stopLoops()
const failed = results.filter(r => !r).length
console.log(`test:load: ${runs - failed} of ${runs} runs passed`)
process.exit(failed === 0 ? 0 : 1)
