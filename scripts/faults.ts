/**
 * `npm run faults`: runs the fault suite (test/faults/) with its heavier variants
 * (WHOISMESH_FAULTS_HEAVY=1: bigger samples, longer faults), then writes docs/reliability.md from
 * the figures each scenario recorded in .faults/. `npm run faults -- --light` runs the sizes
 * `npm test` uses; `npm run faults -- --report-only` only rewrites the table from .faults/. The
 * sections after the table are kept.
 */
import { spawnSync } from 'node:child_process'
import { readdir, readFile, writeFile, rm } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FAULTS_DIR, type ScenarioFigures } from '../test/faults/report.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const light = args.includes('--light')

if (!args.includes('--report-only')) {
  await rm(FAULTS_DIR, { recursive: true, force: true })
  const r = spawnSync(process.execPath, [join(root, 'scripts/run-tests.js'), 'test/faults/'], {
    cwd: root, stdio: 'inherit', env: { ...process.env, ...(light ? {} : { WHOISMESH_FAULTS_HEAVY: '1' }) }
  })
  if (r.status !== 0) console.error(`faults: the suite failed (exit ${String(r.status)}); the table shows the scenarios that recorded figures`)
}

const records: Array<ScenarioFigures & { at: string, heavy?: boolean }> = []
for (const f of (await readdir(FAULTS_DIR).catch(() => [])).sort()) {
  if (f.endsWith('.json')) records.push(JSON.parse(await readFile(join(FAULTS_DIR, f), 'utf8')))
}
records.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }))
const esc = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const lines = [
  '# Reliability: the fault suite\'s figures',
  '',
  `Written by \`npm run faults\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${esc(cpus()[0]?.model ?? '?')}), Node ${process.version}, from the figures the scenarios recorded in \`.faults/\`.`,
  records.every(r => r.heavy === true)
    ? 'Heavier variants (`WHOISMESH_FAULTS_HEAVY=1`); `npm test` runs the same scenarios at smaller sizes.'
    : records.some(r => r.heavy === true)
      ? 'Rows marked (heavy) ran the heavier variants (`WHOISMESH_FAULTS_HEAVY=1`); the others the sizes of `npm test`.'
      : 'Sizes as in `npm test` (`npm run faults` without `--light` runs heavier variants).',
  'Each scenario is a test in `test/faults/` with real node processes and the registry simulator; hosts and network faults use network namespaces (`test/faults/lab.ts`).',
  '',
  '| scenario | injected | checked (pass condition) | figures |',
  '|---|---|---|---|',
  ...records.map(r => `| **${esc(r.scenario)}**${r.heavy === true && !records.every(x => x.heavy === true) ? ' (heavy)' : ''} ${esc(r.title)} | ${esc(r.injected)} | ${esc(r.checked)} | ${Object.entries(r.figures).map(([k, v]) => `${esc(k)}: **${esc(String(v))}**`).join('<br>')} |`),
  ''
]
// the sections after the table (written by hand: the suite on a busy machine) stay as they are
const out = join(root, 'docs/reliability.md')
const before = await readFile(out, 'utf8').catch(() => '')
const kept = before.indexOf('\n## ')
await writeFile(out, lines.join('\n') + (kept < 0 ? '' : before.slice(kept)))
console.log(`docs/reliability.md: ${records.length} scenarios`)
