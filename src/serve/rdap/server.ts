/**
 * The RDAP service: RDAP over HTTP (RFC 7480) on node:http, answering `/ip` queries (RFC 9082
 * §3.1.1) and `/help` from an AnswerSource (a node's replica).
 *
 * HTTP as RFC 7480 has it: GET and HEAD (§4.3); 200 with `application/rdap+json`; 404 for what
 * the replica holds no network for (§5.3), 400 for a malformed query and 501 for query types this
 * service does not answer (§5.4); every answer carries `Access-Control-Allow-Origin: *` (§5.6,
 * CORS), and OPTIONS answers a browser's preflight. Other methods get 405 with `Allow`; a method
 * the HTTP parser does not know, 501. Every error is an RFC 9083 §6 body; a lookup that throws is a
 * 500 with a log line, never a stack trace to the client.
 *
 * Limits for a public port (options.ts): request head size (431), time to send a request (408),
 * time to answer (503 + Retry-After), keep-alive idle time, connections at once.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { isIP, type AddressInfo, type Socket } from 'node:net'
import { silentLogger, type Logger } from '../../util/logger.js'
import type { AnswerSource } from '../interface.js'
import { answerIpQuery, type RdapAnswer } from './answer.js'
import { RdapListenError } from './errors.js'
import type { RdapMetrics } from './metrics.js'
import { errorBody, helpBody, RDAP_CONTENT_TYPE, type RdapBody } from './objects.js'
import { rdapServerOptions, type RdapServerComponents, type RdapServerOptions } from './options.js'
import { parseRdapPath } from './query.js'

export interface RdapServer {
  /** the address bound (e.g. "127.0.0.1", "::") */
  address: string
  /** the port bound (the OS's choice when 0 was asked) */
  port: number
  /** the bound address as a base URL, e.g. "http://127.0.0.1:8080/" */
  url: string
  /** stops listening and closes every connection, answered or not */
  close: () => Promise<void>
}

const ALLOW = 'GET, HEAD, OPTIONS'
/** a Host header good enough to put in a link: a name or IPv4 address, or a bracketed IPv6 one, and a port */
const HOST_HEADER = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/
/** what a preflight may ask to send: header names, comma-separated */
const HEADER_LIST = /^[A-Za-z0-9-]+(?:\s*,\s*[A-Za-z0-9-]+)*$/
/** Retry-After of a 503 (an answer that took too long), seconds */
const RETRY_AFTER_S = 1

export async function startRdapServer (options: Partial<RdapServerOptions>, components: RdapServerComponents): Promise<RdapServer> {
  const opts = rdapServerOptions(options)
  const log = (components.logger ?? silentLogger).child({ component: 'rdap' })
  const server = createServer({
    maxHeaderSize: opts.maxHeaderBytes,
    requestTimeout: opts.requestTimeoutMs,
    headersTimeout: opts.requestTimeoutMs,
    keepAliveTimeout: opts.keepAliveTimeoutMs,
    // how often Node checks the two timeouts above (its default, 30 s, would stretch them)
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(opts.requestTimeoutMs / 4)))
  })
  server.maxConnections = opts.maxConnections
  let boundUrl = ''
  const handler = new RdapHandler(opts, components.source, log, components.metrics, () => boundUrl)
  server.on('request', (req: IncomingMessage, res: ServerResponse) => { handler.handle(req, res) })
  server.on('connection', (socket: Socket) => { socket.on('error', () => {}) })
  server.on('drop', () => { components.metrics?.droppedConnectionsTotal.inc() })
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => { clientError(err, socket, opts, components.metrics) })

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new RdapListenError(err.code, err.code === 'EADDRINUSE'
        ? `RDAP service: ${opts.host}:${opts.port} is already in use`
        : `RDAP service cannot listen on ${opts.host}:${opts.port}: ${err.message}`))
    }
    server.once('error', onError)
    server.listen(opts.port, opts.host, () => { server.off('error', onError); resolve() })
  })
  const bound = server.address() as AddressInfo
  boundUrl = `http://${isIP(bound.address) === 6 ? `[${bound.address}]` : bound.address}:${bound.port}/`
  server.on('error', (err: Error) => { log.error('RDAP server error', { error: err.message }) })
  return {
    address: bound.address,
    port: bound.port,
    url: boundUrl,
    close: async () => {
      await new Promise<void>(resolve => {
        server.close(() => { resolve() })
        server.closeAllConnections()
      })
    }
  }
}

/** A request the HTTP parser refused (too big a head, too slow, not HTTP): an RDAP error, then close. */
function clientError (err: NodeJS.ErrnoException, socket: import('node:stream').Duplex, opts: RdapServerOptions, metrics?: RdapMetrics): void {
  if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return }
  const [status, title, what] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', `The request line and headers exceed ${opts.maxHeaderBytes} bytes.`]
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', `The request was not received within ${opts.requestTimeoutMs} ms.`]
      : err.code === 'HPE_INVALID_METHOD'
        ? [501, 'Not Implemented', `Unknown method: this service answers ${ALLOW}.`]
        : [400, 'Bad Request', 'Not a well-formed HTTP/1.1 request.']
  const body = JSON.stringify(errorBody(status, title, [what]))
  metrics?.requestsTotal.inc({ status: String(status) })
  socket.end(`HTTP/1.1 ${status} ${title}\r\nContent-Type: ${RDAP_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n${body}`)
}

class RdapHandler {
  constructor (
    private readonly opts: RdapServerOptions,
    private readonly source: AnswerSource,
    private readonly log: Logger,
    private readonly metrics: RdapMetrics | undefined,
    private readonly boundUrl: () => string
  ) {}

  handle (req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now()
    res.on('finish', () => {
      this.metrics?.requestsTotal.inc({ status: String(res.statusCode) })
      this.metrics?.requestSeconds.observe((performance.now() - started) / 1000)
    })
    try {
      this.route(req, res)
    } catch (err: any) {
      this.fail(req, res, err)
    }
  }

  private route (req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? ''
    if (method === 'OPTIONS') {
      // a CORS preflight (RFC 7480 §5.6): anyone may read, with GET or HEAD
      const asked = req.headers['access-control-request-headers']
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': ALLOW,
        'access-control-allow-headers': typeof asked === 'string' && HEADER_LIST.test(asked) && asked.length <= 512 ? asked : 'Accept',
        'access-control-max-age': '86400',
        allow: ALLOW
      })
      res.end()
      return
    }
    if (method !== 'GET' && method !== 'HEAD') {
      // RFC 9110 §15.5.6: a 405 names the methods allowed. The body (if any) is not read: close after.
      this.send(req, res, { status: 405, body: errorBody(405, 'Method Not Allowed', [`This service answers ${ALLOW}, not ${method}.`]) }, { allow: ALLOW, connection: 'close' })
      return
    }
    const q = parseRdapPath(req.url ?? '/')
    switch (q.kind) {
      case 'help':
        this.send(req, res, { status: 200, body: helpBody(this.source.replica(), this.baseUrl(req)) })
        return
      case 'bad-request':
        this.send(req, res, { status: 400, body: errorBody(400, 'Bad Request', [q.description]) })
        return
      case 'unsupported':
        this.send(req, res, { status: 501, body: errorBody(501, 'Not Implemented', [q.description]) })
        return
      case 'no-such-path':
        this.send(req, res, { status: 404, body: errorBody(404, 'Not Found', [`"${q.path}" is not an RDAP query this service answers: ask /ip/<IPv4 address>, /ip/<CIDR prefix>/<CIDR length> or /help.`]) })
        return
      case 'ip':
        this.answerIp(req, res, q).catch(err => { this.fail(req, res, err, q.text) })
    }
  }

  private async answerIp (req: IncomingMessage, res: ServerResponse, q: Extract<ReturnType<typeof parseRdapPath>, { kind: 'ip' }>): Promise<void> {
    const base = this.baseUrl(req)
    const answering = answerIpQuery(q, this.source, {
      requestUrl: `${base}ip/${q.text}`,
      baseUrl: base,
      endpoints: this.opts.registryEndpoints,
      now: Date.now()
    }).then(answer => ({ answer }), (err: unknown) => ({ err }))
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>(resolve => { timer = setTimeout(() => resolve('timeout'), this.opts.answerTimeoutMs) })
    const outcome = await Promise.race([answering, timedOut])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      this.log.warn('RDAP answer took too long', { query: q.text, timeoutMs: this.opts.answerTimeoutMs })
      this.send(req, res, { status: 503, body: errorBody(503, 'Service Unavailable', [`The replica did not answer ${q.text} within ${this.opts.answerTimeoutMs} ms; try again.`]) }, { 'retry-after': String(RETRY_AFTER_S) })
      // a late failure is still worth a line
      void answering.then(o => { if ('err' in o) this.log.error('RDAP lookup failed', { query: q.text, error: errorText(o.err) }) })
      return
    }
    if ('err' in outcome) {
      this.fail(req, res, outcome.err, q.text)
      return
    }
    this.send(req, res, outcome.answer)
  }

  /** 500: a log line with what went wrong, the client only that it did */
  private fail (req: IncomingMessage, res: ServerResponse, err: unknown, query?: string): void {
    this.log.error('RDAP lookup failed', { ...(query !== undefined ? { query } : { url: (req.url ?? '').slice(0, 200) }), error: errorText(err) })
    if (res.headersSent) { res.destroy(); return }
    this.send(req, res, { status: 500, body: errorBody(500, 'Internal Server Error', ['The replica could not answer this query; the operator\'s log says why.']) })
  }

  private send (req: IncomingMessage, res: ServerResponse, answer: RdapAnswer | { status: number, body: RdapBody }, headers: Record<string, string> = {}): void {
    // the client may have gone while the replica looked
    if (res.destroyed || res.writableEnded) return
    const bytes = Buffer.from(JSON.stringify(answer.body))
    res.writeHead(answer.status, {
      'content-type': RDAP_CONTENT_TYPE,
      'content-length': String(bytes.length),
      'access-control-allow-origin': '*',
      ...headers
    })
    res.end(req.method === 'HEAD' ? undefined : bytes)
  }

  /** this service's base URL as the client reached it (for links) */
  private baseUrl (req: IncomingMessage): string {
    if (this.opts.baseUrl !== undefined) return this.opts.baseUrl
    const host = req.headers.host
    return typeof host === 'string' && HOST_HEADER.test(host) ? `http://${host}/` : this.boundUrl()
  }
}

function errorText (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
