/**
 * `whoismesh serve --data DIR --whois [ADDR:]PORT --rdap [ADDR:]PORT`: answers WHOIS and RDAP clients from a stopped node's
 * data directory (src/serve) until SIGINT/SIGTERM. It opens the store, so it holds the directory's
 * lock: a node that runs serves from itself instead (`node start --serve-whois`).
 */
import type { NetworkStore } from '../../store/index.js'
import { withStore } from './read.js'
import { startServices, storeAnswerSource, type ListenAddress } from '../../serve/index.js'
import { createLogger, type LogFormat, type Logger } from '../../util/logger.js'
import { UserError } from '../errors.js'

export interface ServeCommandOptions {
  data: string
  whois?: ListenAddress
  rdap?: ListenAddress
  logFormat?: LogFormat
}

export async function runServe (o: ServeCommandOptions): Promise<number> {
  if (o.whois === undefined && o.rdap === undefined) throw new UserError('say what to serve: --whois [ADDR:]PORT and/or --rdap [ADDR:]PORT')
  const logger = createLogger({ format: o.logFormat })
  // a running node holds the store: it serves itself
  await withStore(o.data, async store => await serve(o, store, logger), async () => {
    throw new UserError(`a node is running on ${o.data}: let it serve (node start --serve-whois/--serve-rdap [ADDR:]PORT), or stop it first`)
  })
  return 0
}

async function serve (o: ServeCommandOptions, store: NetworkStore, logger: Logger): Promise<void> {
  for (const d of store.bulkLayer.damaged) logger.warn('bulk data: an imported dump cannot be read and is left out', { path: d.path, problem: d.message })
  const services = await startServices({ whois: o.whois, rdap: o.rdap }, { source: storeAnswerSource(store), logger })
  logger.info('serving', { dataDir: o.data, ...services.ports, networks: store.counts().networks })
  await new Promise<void>(resolve => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  logger.info('stopping')
  await services.close()
}
