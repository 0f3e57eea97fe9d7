/**
 * Serves `GET /metrics` in the Prometheus text format, on a loopback address only: the metrics
 * say what a node crawls and whom it talks to, which is nobody else's business unless the
 * operator forwards the port on purpose.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import { MetricsServerError } from './errors.js'

export interface MetricsServerOptions {
  /** a loopback address: 127.0.0.0/8, ::1 or localhost (default 127.0.0.1) */
  host: string
  /** TCP port; 0 = chosen by the OS (default 0) */
  port: number
}

export const defaultMetricsServerOptions: MetricsServerOptions = {
  host: '127.0.0.1',
  port: 0
}

/** What the server needs from a prom-client Registry. */
export interface MetricsSource {
  metrics: () => Promise<string>
  contentType: string
}

export interface MetricsServer {
  host: string
  /** the port bound (the OS's choice when 0 was asked) */
  port: number
  /** e.g. http://127.0.0.1:9464/metrics */
  url: string
  close: () => Promise<void>
}

export function isLoopbackHost (host: string): boolean {
  if (host === 'localhost') return true
  const v = isIP(host)
  if (v === 4) return host.startsWith('127.')
  if (v === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1'
  return false
}

export async function startMetricsServer (opts: Partial<MetricsServerOptions>, register: MetricsSource): Promise<MetricsServer> {
  const { host, port } = { ...defaultMetricsServerOptions, ...opts }
  if (!isLoopbackHost(host)) throw new MetricsServerError(`metrics host must be a loopback address (127.0.0.1, ::1 or localhost), got "${host}"`)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MetricsServerError(`metrics port must be an integer from 0 to 65535, got ${String(port)}`)

  const server = createServer((req, res) => { void handle(req, res, register) })
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE'
        ? new MetricsServerError(`metrics port ${port} on ${host} is already in use`)
        : new MetricsServerError(`metrics server cannot listen on ${host}:${port}: ${err.message}`))
    }
    server.once('error', onError)
    server.listen(port, host, () => { server.off('error', onError); resolve() })
  })
  const address = server.address()
  const bound = typeof address === 'object' && address != null ? address.port : port
  const urlHost = isIP(host) === 6 ? `[${host}]` : host
  return {
    host,
    port: bound,
    url: `http://${urlHost}:${bound}/metrics`,
    close: async () => {
      await new Promise<void>(resolve => {
        server.close(() => { resolve() })
        server.closeAllConnections()
      })
    }
  }
}

async function handle (req: IncomingMessage, res: ServerResponse, register: MetricsSource): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]
  if (path !== '/metrics') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics\n')
    return
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n')
    return
  }
  try {
    const body = await register.metrics()
    res.writeHead(200, { 'content-type': register.contentType, 'content-length': Buffer.byteLength(body) })
    res.end(req.method === 'HEAD' ? undefined : body)
  } catch (err: any) {
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`metrics collection failed: ${String(err?.message ?? err)}\n`)
  }
}
