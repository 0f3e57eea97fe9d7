/**
 * The simulator's control server: `GET /stats` (the counters as JSON), `GET /truth?ip=A.B.C.D`
 * (ground truth for judges: src/sim/truth.ts), `GET
 * /delegated-<rir>-extended-latest` (each registry's delegation file, built from the world), `GET
 * /dumps/<file>` (RIPE NCC's, APNIC's and AFRINIC's database dumps and serial files: dumps.ts), `POST /reset` (zero the
 * counters; `POST /reset?limits=1` also refills every budget and lifts every ban), and the fault
 * plan at run time: `GET /faults` (the plan and storms in force), `POST /faults` with a JSON body
 * `{rate, kinds, registries, hugeBytes, hangMs}` (any subset) and `POST /storm` with
 * `{mode: "rate-limit" | "ban", ms, registries, retryAfterSeconds}`. A bad body is a 400 naming
 * the field.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type { SimContext } from './context.js'

export interface ControlHandlers {
  stats: () => unknown
  reset: (limits: boolean) => void
  /** applies a POST /faults body; returns the plan in force; throws SimulatorOptionsError */
  faults: (body: any) => unknown
  /** applies a POST /storm body; returns the plan in force; throws SimulatorOptionsError */
  storm: (body: any) => unknown
  plan: () => unknown
  /** the delegation file (exchange format) a registry publishes, by its file name; undefined = 404 */
  delegations: (fileName: string) => string | undefined
  /** serves a database dump file (src/sim/dumps.ts) by its name; resolves false when there is no such file */
  dumps: (file: string, head: boolean, res: import('node:http').ServerResponse) => Promise<boolean>
  /** ground truth for judges (src/sim/truth.ts): the network; undefined = special/reserved space; 'bad' = no IPv4 address */
  truth: (ip: string) => unknown
}

/** Largest control request body read. */
const MAX_BODY_BYTES = 16 * 1024

class BadRequest extends Error {}

async function readJson (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of req) {
    bytes += (chunk as Buffer).length
    if (bytes > MAX_BODY_BYTES) throw new BadRequest(`body larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8').trim()
  try {
    return text === '' ? {} : JSON.parse(text)
  } catch {
    throw new BadRequest('body: not JSON')
  }
}

export function createControlServer (ctx: SimContext, handlers: ControlHandlers): Server {
  const server = createServer({
    maxHeaderSize: ctx.opts.maxRequestHeaderBytes,
    requestTimeout: ctx.opts.requestTimeoutMs,
    headersTimeout: Math.min(ctx.opts.requestTimeoutMs, 60_000),
    keepAliveTimeout: ctx.opts.idleTimeoutMs
  }, (req, res) => {
    const send = (status: number, body: unknown): void => {
      const bytes = Buffer.from(JSON.stringify(body))
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(bytes.length), 'cache-control': 'no-store' })
      res.end(bytes)
    }
    try {
      const url = new URL(req.url ?? '/', 'http://sim.invalid')
      if (url.pathname === '/stats' && (req.method === 'GET' || req.method === 'HEAD')) {
        send(200, handlers.stats())
      } else if (url.pathname.startsWith('/delegated-') && (req.method === 'GET' || req.method === 'HEAD')) {
        const text = handlers.delegations(url.pathname.slice(1))
        if (text === undefined) { send(404, { error: `no such file ${url.pathname}` }); req.resume(); return }
        const bytes = Buffer.from(text)
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(bytes.length) })
        res.end(req.method === 'HEAD' ? undefined : bytes)
      } else if (url.pathname.startsWith('/dumps/') && (req.method === 'GET' || req.method === 'HEAD')) {
        req.resume()
        handlers.dumps(url.pathname.slice('/dumps/'.length), req.method === 'HEAD', res).then(found => {
          if (!found) send(404, { error: `no such dump ${url.pathname}` })
        }, (err: unknown) => { if (!res.headersSent) send(500, { error: String(err) }); else res.destroy() })
      } else if (url.pathname === '/truth' && (req.method === 'GET' || req.method === 'HEAD')) {
        // for judges only (tests, benchmarks): no crawler code path may read it
        const ip = url.searchParams.get('ip') ?? ''
        const t = handlers.truth(ip)
        if (t === 'bad') send(400, { error: `ip: not an IPv4 address: ${JSON.stringify(ip.slice(0, 64))}` })
        else if (t === undefined) send(404, { error: `no network holds ${ip}: special-purpose or reserved space` })
        else send(200, t)
        req.resume()
      } else if (url.pathname === '/reset' && req.method === 'POST') {
        const limits = url.searchParams.get('limits')
        handlers.reset(limits === '1' || limits === 'true')
        send(200, { reset: true, limits: limits === '1' || limits === 'true' })
        req.resume()
      } else if (url.pathname === '/faults' && (req.method === 'GET' || req.method === 'HEAD')) {
        send(200, handlers.plan())
      } else if ((url.pathname === '/faults' || url.pathname === '/storm') && req.method === 'POST') {
        const apply = url.pathname === '/faults' ? handlers.faults : handlers.storm
        readJson(req).then(body => send(200, apply(body)), (err: unknown) => {
          if (err instanceof BadRequest) send(400, { error: err.message })
          else res.destroy()
        }).catch((err: any) => {
          if (res.headersSent) { res.destroy(); return }
          if (err?.name === 'SimulatorOptionsError') send(400, { error: String(err.message) })
          else send(500, { error: String(err) })
        })
      } else {
        send(404, { error: 'not found: use GET /stats, GET /delegated-<rir>-extended-latest, GET /dumps/<file>, GET /truth?ip=A.B.C.D, POST /reset, GET or POST /faults, POST /storm' })
        req.resume()
      }
    } catch (err) {
      if (!res.headersSent) send(500, { error: String(err) })
      else res.destroy()
    }
  })
  server.maxConnections = ctx.opts.maxConnections
  server.on('connection', (socket: Socket) => {
    ctx.trackSocket(socket)
    socket.on('error', () => {})
  })
  server.on('clientError', (_err, socket) => socket.destroy())
  return server
}
