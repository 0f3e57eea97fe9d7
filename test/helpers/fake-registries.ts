/**
 * Five fake registries on 127.0.0.1, each with an RDAP (HTTP) server and a WHOIS (TCP) server on
 * ports chosen by the OS. A test sets the handlers it needs; everything sent is recorded.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { REGISTRY_IDS, type RegistryEndpoints, type RegistryId } from '../../src/registry/interface.js'

const FIXTURES = new URL('../fixtures/registry-responses/', import.meta.url)

/** A stored real registry answer, as bytes. */
export function fixture (name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES))
}

export type RdapHandler = (req: IncomingMessage, res: ServerResponse) => void
/** `query` is the line received, CRLF included */
export type WhoisHandler = (query: string, socket: Socket) => void

export interface RecordedRdapRequest { registry: RegistryId, url: string, headers: IncomingMessage['headers'] }
export interface RecordedWhoisQuery { registry: RegistryId, query: string }

export class FakeRegistries {
  readonly rdap: Partial<Record<RegistryId, RdapHandler>> = {}
  readonly whois: Partial<Record<RegistryId, WhoisHandler>> = {}
  readonly rdapRequests: RecordedRdapRequest[] = []
  readonly whoisQueries: RecordedWhoisQuery[] = []
  endpoints!: RegistryEndpoints
  private readonly httpServers: HttpServer[] = []
  private readonly netServers: NetServer[] = []
  private readonly sockets = new Set<Socket>()

  static async start (): Promise<FakeRegistries> {
    const f = new FakeRegistries()
    const endpoints: Partial<RegistryEndpoints> = {}
    for (const id of REGISTRY_IDS) {
      const http = createHttpServer((req, res) => {
        f.rdapRequests.push({ registry: id, url: req.url ?? '', headers: req.headers })
        const handler = f.rdap[id]
        if (handler === undefined) {
          res.writeHead(501, { 'content-type': 'text/plain' }).end(`no RDAP handler for ${id} in this test`)
        } else {
          handler(req, res)
        }
      })
      const whois = createNetServer(socket => {
        let received = ''
        socket.setEncoding('latin1')
        socket.on('error', () => {})
        const onData = (s: string): void => {
          received += s
          if (!received.includes('\n')) return
          socket.off('data', onData)
          f.whoisQueries.push({ registry: id, query: received })
          const handler = f.whois[id]
          if (handler === undefined) socket.end(`% no WHOIS handler for ${id} in this test\n`)
          else handler(received, socket)
        }
        socket.on('data', onData)
      })
      for (const server of [http, whois]) {
        server.on('connection', (s: Socket) => {
          f.sockets.add(s)
          s.on('close', () => f.sockets.delete(s))
        })
      }
      await listen(http)
      await listen(whois)
      f.httpServers.push(http)
      f.netServers.push(whois)
      endpoints[id] = {
        rdapBaseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}/${id}/`,
        whoisHost: '127.0.0.1',
        whoisPort: (whois.address() as AddressInfo).port
      }
    }
    f.endpoints = endpoints as RegistryEndpoints
    return f
  }

  /** The RDAP URL of an address at a registry, as the client will request it. */
  rdapUrl (registry: RegistryId, ip: string): string {
    return `${this.endpoints[registry].rdapBaseUrl}ip/${ip}`
  }

  async close (): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await Promise.all([...this.httpServers, ...this.netServers].map(async s => await new Promise<void>(resolve => s.close(() => resolve()))))
  }
}

async function listen (server: HttpServer | NetServer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
}

/** A 127.0.0.1 port nobody listens on (bound, then released). */
export async function closedPort (): Promise<number> {
  const s = createNetServer()
  await listen(s)
  const port = (s.address() as AddressInfo).port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

/**
 * Writes a registries file (`node start --registries`) whose every registry is on a closed port:
 * a node given it fails any lookup at once, for tests that stop before the crawl matters.
 */
export async function writeUnreachableRegistries (file: string): Promise<void> {
  const port = await closedPort()
  await writeFile(file, JSON.stringify({
    version: 1,
    registries: Object.fromEntries(REGISTRY_IDS.map(id => [id, { rdap: `http://127.0.0.1:${port}/`, whois: `127.0.0.1:${port}` }]))
  }))
}
