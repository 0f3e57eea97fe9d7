/**
 * The services that answer people's tools from a node's replica: port-43 WHOIS (whois/) and RDAP.
 * A running node starts them after its store is open (`node start --serve-whois`), `whoismesh
 * serve` on a stopped data directory's store; both read the same AnswerSource (interface.ts).
 */
import type { AnswerSource } from './interface.js'
import { startWhoisService, type WhoisService } from './whois/server.js'
import { ServeListenError } from './errors.js'

export type { AnswerSource, ReplicaInfo } from './interface.js'
export { storeAnswerSource } from './source.js'
export { ServeListenError } from './errors.js'

/** Where a service listens. */
export interface ListenAddress { host: string, port: number }

export interface ServicesOptions {
  /** the port-43 WHOIS service; undefined = off */
  whois?: ListenAddress
}

export interface Services {
  /** the ports bound (port 0 asked: the one picked), by service */
  ports: { whois?: number }
  close: () => Promise<void>
}

/** Starts the services asked for; throws ServeListenError when one cannot listen (the others are closed). */
export async function startServices (opts: ServicesOptions, components: { source: AnswerSource, log?: (msg: string, fields?: Record<string, unknown>) => void }): Promise<Services> {
  let whois: WhoisService | undefined
  try {
    if (opts.whois !== undefined) whois = await startWhoisService(opts.whois, components).catch(err => { throw new ServeListenError('whois', opts.whois!, err) })
  } catch (err) {
    await whois?.close()
    throw err
  }
  return {
    ports: { ...(whois !== undefined ? { whois: whois.port } : {}) },
    close: async () => { await whois?.close() }
  }
}
