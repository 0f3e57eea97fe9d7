/**
 * The services that answer people's tools from a node's replica: port-43 WHOIS (whois/) and RDAP
 * (rdap/). A running node starts them after its store is open (`node start --serve-whois
 * --serve-rdap`), `whoismesh serve` on a stopped data directory's store; both read the same
 * AnswerSource (interface.ts).
 */
import type { Registry } from 'prom-client'
import type { RegistryEndpoints } from '../registry/interface.js'
import type { Logger } from '../util/logger.js'
import type { AnswerSource } from './interface.js'
import { startWhoisService, type WhoisService } from './whois/server.js'
import { createRdapMetrics, startRdapServer, type RdapServer } from './rdap/index.js'
import { ServeListenError } from './errors.js'

export type { AnswerSource, ReplicaInfo } from './interface.js'
export { storeAnswerSource } from './source.js'
export { ServeListenError } from './errors.js'

/** Where a service listens. */
export interface ListenAddress { host: string, port: number }

export interface ServicesOptions {
  /** the port-43 WHOIS service; undefined = off */
  whois?: ListenAddress
  /** the RDAP service; undefined = off */
  rdap?: ListenAddress
  /** the registries the answers link to (RDAP `related`, `port43`): the real RIRs', or a simulator's @default the real RIRs */
  registryEndpoints?: RegistryEndpoints
  /** a crawling node's: the event loop's busy share above which lookups wait (pace.ts ServePace.maxBusy) */
  share?: number
}

export interface ServicesComponents {
  source: AnswerSource
  logger: Logger
  /** where the RDAP service's counters go (a node's metrics registry); none = not counted */
  register?: Registry
}

export interface Services {
  /** the ports bound (port 0 asked: the one picked), by service */
  ports: { whois?: number, rdap?: number }
  close: () => Promise<void>
}

/** Starts the services asked for; throws ServeListenError when one cannot listen (those started are closed). */
export async function startServices (opts: ServicesOptions, c: ServicesComponents): Promise<Services> {
  let whois: WhoisService | undefined
  let rdap: RdapServer | undefined
  const close = async (): Promise<void> => {
    await whois?.close()
    await rdap?.close()
  }
  try {
    if (opts.whois !== undefined) {
      whois = await startWhoisService(opts.whois, { source: c.source, log: (msg, fields, level) => level === 'info' ? c.logger.info(msg, fields) : c.logger.warn(msg, fields) })
        .catch(err => { throw new ServeListenError('WHOIS', opts.whois!, err) })
    }
    if (opts.rdap !== undefined) {
      rdap = await startRdapServer({ ...opts.rdap, ...(opts.registryEndpoints !== undefined ? { registryEndpoints: opts.registryEndpoints } : {}) }, {
        source: c.source,
        logger: c.logger,
        ...(c.register !== undefined ? { metrics: createRdapMetrics(c.register) } : {})
      }).catch(err => { throw err?.name === 'RdapListenError' ? new ServeListenError('RDAP', opts.rdap!, err) : err })
    }
  } catch (err) {
    await close()
    throw err
  }
  return {
    ports: { ...(whois !== undefined ? { whois: whois.port } : {}), ...(rdap !== undefined ? { rdap: rdap.port } : {}) },
    close
  }
}
