/**
 * `node start --registries`: where the registries answer.
 *
 * - absent: the real RIRs;
 * - `sim`: the bundled registry simulator, started inside the node's process on loopback with
 *   the options `whoismesh sim` has by default and the node's budgets, and stopped with the node
 *   (a file named `sim` is given as `./sim`);
 * - a file (what `whoismesh sim --registries-out` writes): waited for while it does not exist
 *   yet — the simulator writes it once every server listens — for at most `waitMs`.
 */
import { stat } from 'node:fs/promises'
import { loadRegistriesFile, parseRegistriesFile, type LoadedRegistries } from '../registry/endpoints.js'
import { formatBudgets, type Budgets } from '../registry/budget.js'
import type { Logger } from '../util/logger.js'
import { UserError } from './errors.js'

/** The `--registries` value that starts the bundled simulator in the node's process. */
export const BUNDLED_SIMULATOR = 'sim'

/** how often a missing registries file is looked for */
const POLL_MS = 200

/**
 * Waits until `path` exists, for at most `waitMs`, saying so in one line when it has to wait.
 * @throws UserError when it did not appear in time (naming the file and the flag)
 */
export async function waitForRegistriesFile (path: string, waitMs: number, logger: Pick<Logger, 'info'>): Promise<void> {
  const exists = async (): Promise<boolean> => await stat(path).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT')
  if (await exists()) return
  if (waitMs <= 0) return // the load names the missing file
  logger.info(`waiting for the registries file ${path} (written by \`whoismesh sim --registries-out\` once its servers listen); giving up in ${Math.round(waitMs / 1000)} s`, { file: path, waitMs })
  const deadline = performance.now() + waitMs
  while (!(await exists())) {
    if (performance.now() >= deadline) {
      throw new UserError(`--registries: ${path} did not appear within ${Math.round(waitMs / 1000)} s (start \`whoismesh sim --registries-out ${path}\` first, give a longer --registries-wait, or use --registries sim)`)
    }
    await new Promise(resolve => setTimeout(resolve, Math.min(POLL_MS, Math.max(1, deadline - performance.now()))))
  }
}

/** The bundled simulator running inside this process. */
export interface BundledSimulator {
  registries: LoadedRegistries
  /** stops every server; logs the simulator's query count */
  close: () => Promise<void>
}

/** Starts the bundled simulator on 127.0.0.1 (any free ports) with `budgets`, as `whoismesh sim` would. */
export async function startBundledSimulator (budgets: Budgets, logger: Pick<Logger, 'info'>): Promise<BundledSimulator> {
  const { startSimulator } = await import('../sim/index.js')
  logger.info('starting the bundled registry simulator in this process (building its world takes a few seconds)')
  const sim = await startSimulator({ host: '127.0.0.1', controlPort: 0, budgetPerSecond: budgets })
  const registries = parseRegistriesFile(sim.registriesFile, 'the bundled simulator')
  logger.info('bundled simulator listening', {
    budgets: formatBudgets(sim.opts.budgetPerSecond),
    stats: sim.statsUrl,
    ...Object.fromEntries(Object.entries(sim.registriesFile.registries).map(([id, r]) => [id, `${r.rdap} whois ${r.whois}`]))
  })
  return {
    registries,
    close: async () => {
      const queries = Object.values(sim.stats().registries).reduce((n, r) => n + r.queries, 0)
      await sim.close()
      logger.info('bundled simulator stopped', { queries })
    }
  }
}

/** Loads a registries file, waiting for it first (waitForRegistriesFile). */
export async function loadRegistries (path: string, waitMs: number, logger: Pick<Logger, 'info'>): Promise<LoadedRegistries> {
  await waitForRegistriesFile(path, waitMs, logger)
  return await loadRegistriesFile(path)
}
