/**
 * One registry's RDAP server: `GET /ip/<address>` (also `/ip/<address>/<len>`, answered for the
 * base address). 200 with the network, a 301/302/303/307/308 redirect to the owning registry,
 * 404 for special-purpose / reserved space, 429 (with Retry-After) over budget, 403 (LACNIC: 429)
 * with Retry-After while banned, 400 for anything else. Bounded: request head size, request
 * time, keep-alive idle time, connection count.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4, tryParseIPv4 } from '../util/ipv4.js'
import type { SimContext } from './context.js'
import { injectFault, malformedBytes, streamHuge, type FaultRendering } from './faults.js'
import {
  RDAP_CONTENT_TYPE, rdapBadRequestBody, rdapBannedBody, rdapErrorBody, rdapNetworkBody, rdapNotFoundBody, rdapRateLimitedBody,
  rdapRedirectLocation
} from './rdap-format.js'
import { decide } from './responder.js'
import { parseRdapDownPath, rdapSearchBody, RDAP_SEARCH_MAX_RESULTS, RDAP_SEARCH_REGISTRIES } from './listing.js'
import { mix32, REGISTRY_INDEX } from './world.js'

const REDIRECT_STATUSES = [301, 302, 303, 307, 308] as const
const IP_PATH = /^\/ip\/([0-9.]{7,15})(?:\/(\d{1,2}))?\/?$/

export function createRdapServer (ctx: SimContext, registry: RegistryId): Server {
  const { opts } = ctx
  const server = createServer({
    maxHeaderSize: opts.maxRequestHeaderBytes,
    requestTimeout: opts.requestTimeoutMs,
    headersTimeout: Math.min(opts.requestTimeoutMs, 60_000),
    keepAliveTimeout: opts.idleTimeoutMs
  }, (req, res) => {
    try {
      handle(ctx, registry, req, res)
    } catch (err) {
      // never crash on a request: answer 500 if still possible
      if (!res.headersSent) sendJson(res, 500, { errorCode: 500, title: 'Internal Server Error', description: [String(err)] })
      else res.destroy()
    }
  })
  server.maxConnections = opts.maxConnections
  server.on('connection', (socket: Socket) => {
    ctx.trackSocket(socket)
    socket.on('error', () => {})
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request'
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    else socket.destroy()
  })
  return server
}

function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(body))
  res.writeHead(status, { 'content-type': RDAP_CONTENT_TYPE, 'content-length': String(bytes.length), 'access-control-allow-origin': '*', ...headers })
  res.end(res.req.method === 'HEAD' ? undefined : bytes)
}

function handle (ctx: SimContext, registry: RegistryId, req: IncomingMessage, res: ServerResponse): void {
  const m = ctx.metrics
  m.registries[registry].queries++
  const client = req.socket.remoteAddress ?? 'unknown'
  const path = (req.url ?? '').split('?')[0]
  const down = parseRdapDownPath(path)
  if (down !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
    search(ctx, registry, client, down, res)
    return
  }
  const match = IP_PATH.exec(path)
  const address = match != null ? tryParseIPv4(match[1]) : undefined
  const prefix = match?.[2] != null ? Number(match[2]) : 32
  if ((req.method !== 'GET' && req.method !== 'HEAD') || address === undefined || prefix > 32) {
    m.badRequests++
    const what = req.method !== 'GET' && req.method !== 'HEAD'
      ? `method ${req.method ?? '?'} not supported`
      : `unsupported path "${path.slice(0, 100)}": use /ip/<IPv4 address>`
    ctx.afterLatency(() => sendJson(res, 400, rdapBadRequestBody(registry, what), { connection: 'close' }))
    return
  }
  const admission = ctx.admit(registry, client)
  if (admission.kind === 'rate-limited') {
    const body = rdapRateLimitedBody(registry, ctx.opts.budgetPerSecond[registry], admission.retryAfterSeconds)
    ctx.afterLatency(() => sendJson(res, 429, body, { 'retry-after': String(admission.retryAfterSeconds) }))
    return
  }
  if (admission.kind === 'banned') {
    const status = registry === 'lacnic' ? 429 : 403
    const body = rdapBannedBody(registry, admission.retryAfterSeconds)
    ctx.afterLatency(() => sendJson(res, status, body, { 'retry-after': String(admission.retryAfterSeconds) }))
    return
  }

  const requestUrl = `${ctx.endpoints[registry].rdapBaseUrl}ip/${formatIPv4(address)}`
  const fault = ctx.nextFault(registry)
  if (fault !== undefined) {
    injectFault(ctx, fault, res.req.socket, rdapFaults(ctx, registry, address, requestUrl, res))
    return
  }
  const decision = decide(ctx.view, registry, address)
  const stats = m.registries[registry]
  switch (decision.kind) {
    case 'network': {
      m.networkServed(registry, decision.network.index, decision.network.leaf === true)
      const body = rdapNetworkBody(decision.network, ctx.endpoints[registry].rdapBaseUrl, requestUrl)
      ctx.afterLatency(() => sendJson(res, 200, body))
      return
    }
    case 'redirect': {
      stats.redirects++
      const status = REDIRECT_STATUSES[mix32(decision.network.index * 5 + REGISTRY_INDEX[registry]) % REDIRECT_STATUSES.length]
      const location = rdapRedirectLocation(ctx.endpoints, decision.to, address)
      ctx.afterLatency(() => {
        res.writeHead(status, { location, 'content-length': '0', 'access-control-allow-origin': '*' })
        res.end()
      })
      return
    }
    case 'not-found': {
      stats.not_found++
      const body = rdapNotFoundBody(registry, formatIPv4(address))
      ctx.afterLatency(() => sendJson(res, 404, body))
    }
  }
}

/** RFC 9910 `rdap-down`: the immediate children of a prefix (sim/listing.ts), at registries that offer it. */
function search (ctx: SimContext, registry: RegistryId, client: string, range: { start: number, end: number }, res: ServerResponse): void {
  const stats = ctx.metrics.registries[registry]
  if (!RDAP_SEARCH_REGISTRIES.has(registry)) {
    ctx.afterLatency(() => sendJson(res, 501, rdapErrorBody(registry, 501, 'Not Implemented', ['RIR search is not supported by this server'])))
    return
  }
  const admission = ctx.admit(registry, client)
  if (admission.kind !== 'ok') {
    const banned = admission.kind === 'banned'
    const body = banned ? rdapBannedBody(registry, admission.retryAfterSeconds) : rdapRateLimitedBody(registry, ctx.opts.budgetPerSecond[registry], admission.retryAfterSeconds)
    ctx.afterLatency(() => sendJson(res, banned ? 403 : 429, body, { 'retry-after': String(admission.retryAfterSeconds) }))
    return
  }
  const nets = ctx.view.children(registry, range.start, range.end)
  stats.listings++
  stats.listed_networks += Math.min(nets.length, RDAP_SEARCH_MAX_RESULTS)
  if (nets.length === 0) {
    ctx.afterLatency(() => sendJson(res, 404, rdapErrorBody(registry, 404, 'Not Found', ['No down level objects have been found'])))
    return
  }
  const base = ctx.endpoints[registry].rdapBaseUrl
  const body = rdapSearchBody(registry, nets, base, `${base}ips/rirSearch1/rdap-down/${formatIPv4(range.start)}`)
  ctx.afterLatency(() => sendJson(res, 200, body))
}

/** The RDAP shapes of the faults that carry a body. */
function rdapFaults (ctx: SimContext, registry: RegistryId, address: number, requestUrl: string, res: ServerResponse): FaultRendering {
  const socket = res.req.socket
  return {
    truncated: () => {
      const decision = decide(ctx.view, registry, address)
      const body = Buffer.from(JSON.stringify(decision.kind === 'network'
        ? rdapNetworkBody(decision.network, ctx.endpoints[registry].rdapBaseUrl, requestUrl)
        : rdapNotFoundBody(registry, formatIPv4(address))))
      res.writeHead(200, { 'content-type': RDAP_CONTENT_TYPE, 'content-length': String(body.length) })
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => socket.resetAndDestroy())
    },
    malformed: () => {
      const body = malformedBytes(true)
      res.writeHead(200, { 'content-type': RDAP_CONTENT_TYPE, 'content-length': String(body.length) })
      res.end(body)
    },
    huge: () => {
      res.writeHead(200, { 'content-type': RDAP_CONTENT_TYPE })
      streamHuge(res, ctx.opts.hugeBytes, '{"objectClassName":"ip network","remarks":[{"description":["', '"]}]}', 'x'.repeat(64))
        .catch(() => socket.destroy())
    }
  }
}
