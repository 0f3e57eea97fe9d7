/**
 * Figures of the fault suite. Each scenario test records what it injected, what it checked and
 * its measured figures; `npm run faults` runs the suite and writes docs/reliability.md from them
 * (scripts/faults-report.ts). Records go to `.faults/<scenario>.json` (not committed).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FAULTS_DIR = fileURLToPath(new URL('../../.faults/', import.meta.url))

/** true when `npm run faults` asks for the heavier variants (bigger samples, longer faults) */
export const HEAVY = process.env.WHOISMESH_FAULTS_HEAVY === '1'

export interface ScenarioFigures {
  /** stable id, also the file name, e.g. "1-churn" */
  scenario: string
  /** one line: the scenario's title */
  title: string
  /** what was injected */
  injected: string
  /** what was checked (the pass condition) */
  checked: string
  /** measured figures: name → value (numbers or short strings), e.g. { 'bans': 0, 'converge s': 4.2 } */
  figures: Record<string, number | string>
}

export async function recordFigures (f: ScenarioFigures): Promise<void> {
  await mkdir(FAULTS_DIR, { recursive: true })
  await writeFile(join(FAULTS_DIR, `${f.scenario}.json`), JSON.stringify({ ...f, heavy: HEAVY, at: new Date().toISOString() }, null, 2) + '\n')
}
