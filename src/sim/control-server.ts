/**
 * The simulator's control server: `GET /stats` (the counters as JSON), `POST /reset` (zero the
 * counters; `POST /reset?limits=1` also refills every budget and lifts every ban).
 */
import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import type { SimContext } from './context.js'

export interface ControlHandlers {
  stats: () => unknown
  reset: (limits: boolean) => void
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
      } else if (url.pathname === '/reset' && req.method === 'POST') {
        const limits = url.searchParams.get('limits')
        handlers.reset(limits === '1' || limits === 'true')
        send(200, { reset: true, limits: limits === '1' || limits === 'true' })
        req.resume()
      } else {
        send(404, { error: 'not found: use GET /stats or POST /reset' })
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
