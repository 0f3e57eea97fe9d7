/**
 * RDAP client: one GET per call, redirects returned to the caller (each hop costs a request against
 * the target registry's budget, so the orchestrator follows them), bodies read under a size cap,
 * every request bounded in total time. Failures are the lookup error classes.
 */
import { Agent, request, type Dispatcher } from 'undici'
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import { MalformedResponseError, NotFoundError, RateLimitedError, TransientLookupError, type TransientKind } from './errors.js'
import type { ParsedNetwork } from '../record/index.js'
import { parseRdapNetwork } from './rdap-parser.js'
import { asMalformed, transientKindOfCode } from './whois-client.js'

export interface RdapClientOptions {
  /** full User-Agent header value */
  userAgent: string
  /** whole request: connect + headers + body */
  timeoutMs: number
  /** TCP (+TLS) connect (capped by timeoutMs) */
  connectTimeoutMs: number
  /** longest wait for the headers, and longest silence while reading the body (capped by timeoutMs) */
  idleTimeoutMs: number
  /** bodies larger than this fail with TransientLookupError('too-large'); the read is aborted */
  maxResponseBytes: number
}

export interface RdapClientModules {
  /** undici dispatcher to send through; by default the client owns an Agent (closed by close()) */
  dispatcher?: Dispatcher
}

export type RdapReply =
  | { kind: 'network', network: ParsedNetwork, bytes: number }
  /** `location` is absolute (resolved against the request URL) */
  | { kind: 'redirect', location: string, status: number }

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
/** error bodies (429/403/5xx) are read only this far, to look for a ban notice */
const ERROR_BODY_BYTES = 16 * 1024
const BAN_WORDS = /\b(banned|blocked|blacklisted|denied|forbidden)\b/i

/** The RDAP IP-lookup URL for an address under a base URL that ends with "/". */
export function rdapIpUrl (baseUrl: string, address: number): string {
  return `${baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`}ip/${formatIPv4(address)}`
}

/**
 * `Retry-After` in milliseconds: delta-seconds ("120") or an HTTP-date (a date in the past gives 0).
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter (value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim()
  if (v === undefined || v === '') return undefined
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

function headerValue (h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h[0] : h
}

/** Maps an undici / socket error to a transient kind. */
function transientKindOfError (err: unknown): TransientKind {
  const code = (err as { code?: string } | undefined)?.code
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect-timeout'
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout'
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return 'too-large'
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return 'reset'
  }
  const cause = (err as { cause?: unknown } | undefined)?.cause
  if (cause != null && cause !== err) return transientKindOfError(cause)
  return transientKindOfCode(code)
}

class TooLarge extends Error {}

export class RdapClient {
  private readonly dispatcher: Dispatcher
  private readonly ownsDispatcher: boolean

  constructor (private readonly opts: RdapClientOptions, modules: RdapClientModules = {}) {
    const idle = Math.min(opts.idleTimeoutMs, opts.timeoutMs)
    this.ownsDispatcher = modules.dispatcher === undefined
    this.dispatcher = modules.dispatcher ?? new Agent({
      connect: { timeout: Math.min(opts.connectTimeoutMs, opts.timeoutMs) },
      headersTimeout: idle,
      bodyTimeout: idle
    })
  }

  /** The RDAP answer for `address` at a registry's base URL. */
  async query (registry: RegistryId, baseUrl: string, address: number, signal?: AbortSignal): Promise<RdapReply> {
    return await this.get(registry, rdapIpUrl(baseUrl, address), address, signal)
  }

  /**
   * GETs `url` (an RDAP IP URL, possibly a redirect target) and classifies the answer:
   * 200 → the parsed network; 301/302/303/307/308 → redirect; 404 → NotFoundError;
   * 429 → RateLimitedError (banned when the body says so); 403 → RateLimitedError, banned;
   * 5xx → TransientLookupError('server-error'); other statuses and unparseable bodies →
   * MalformedResponseError. An abort of `signal` rejects with the signal's reason.
   */
  async get (registry: RegistryId, url: string, address: number, signal?: AbortSignal): Promise<RdapReply> {
    return await this.fetch(registry, url, signal, (body, bytes) => ({ kind: 'network', network: parseRdapNetwork(body, registry, address, bytes), bytes }))
  }

  /**
   * GETs an RDAP search URL (RFC 9910 RIR search) and hands the JSON object of a 200 answer to
   * `parse`; the other statuses are classified as by `get`, and a redirect is a MalformedResponseError.
   */
  async search<T> (registry: RegistryId, url: string, parse: (body: object, bytes: number) => T, signal?: AbortSignal): Promise<T> {
    const reply = await this.fetch(registry, url, signal, (body, bytes) => ({ kind: 'result' as const, result: parse(body, bytes) }))
    if (reply.kind === 'redirect') throw new MalformedResponseError(registry, `rdap ${url}: a search answered with a redirect to ${reply.location}`, 0)
    return reply.result
  }

  private async fetch<T extends { kind: string }> (registry: RegistryId, url: string, signal: AbortSignal | undefined, parse: (body: object, bytes: number) => T): Promise<T | Extract<RdapReply, { kind: 'redirect' }>> {
    signal?.throwIfAborted()
    const { timeoutMs } = this.opts
    const ac = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      ac.abort(new Error('timeout'))
    }, timeoutMs)
    const onAbort = (): void => ac.abort(signal!.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    let res: Dispatcher.ResponseData | undefined
    try {
      res = await request(url, {
        dispatcher: this.dispatcher,
        method: 'GET',
        headers: { accept: 'application/rdap+json, application/json;q=0.9', 'user-agent': this.opts.userAgent },
        signal: ac.signal
      })
      return await this.classify(registry, url, res, parse)
    } catch (err) {
      if (timedOut) throw new TransientLookupError(registry, 'timeout', `rdap ${url}: no complete answer within ${timeoutMs} ms`)
      if (signal?.aborted === true) throw signal.reason
      if (isLookupError(err)) throw err
      const kind = err instanceof TooLarge ? 'too-large' : transientKindOfError(err)
      const code = (err as { code?: string } | null)?.code
      throw new TransientLookupError(registry, kind, `rdap ${url}: ${err instanceof Error ? err.message : String(err)}${code != null ? ` (${code})` : ''}`)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      // A body not read to the end must not keep the connection: destroying it closes the socket.
      if (res !== undefined && !res.body.readableEnded) res.body.destroy()
    }
  }

  private async classify<T> (registry: RegistryId, url: string, res: Dispatcher.ResponseData, parse: (body: object, bytes: number) => T): Promise<T | Extract<RdapReply, { kind: 'redirect' }>> {
    const status = res.statusCode
    const where = `rdap ${url}`
    if (status === 200) {
      const declared = Number(headerValue(res.headers['content-length']))
      if (Number.isFinite(declared) && declared > this.opts.maxResponseBytes) {
        throw new TransientLookupError(registry, 'too-large', `${where}: Content-Length ${declared} exceeds ${this.opts.maxResponseBytes} bytes`)
      }
      const raw = await this.readBody(res.body, this.opts.maxResponseBytes)
      let body: unknown
      try {
        body = JSON.parse(raw.toString('utf8'))
      } catch (err) {
        throw new MalformedResponseError(registry, `${where}: body is not JSON (${(err as Error).message})`, raw.length)
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new MalformedResponseError(registry, `${where}: body is not a JSON object`, raw.length)
      }
      try {
        return parse(body, raw.length)
      } catch (err) {
        throw asMalformed(err, registry, raw.length)
      }
    }
    if (REDIRECT_STATUSES.has(status)) {
      await discard(res.body)
      const location = headerValue(res.headers.location)
      if (location === undefined || location.trim() === '') {
        throw new MalformedResponseError(registry, `${where}: HTTP ${status} without Location`, 0)
      }
      let absolute: string
      try {
        absolute = new URL(location.trim(), url).href
      } catch {
        throw new MalformedResponseError(registry, `${where}: HTTP ${status} with unusable Location "${location}"`, 0)
      }
      return { kind: 'redirect', location: absolute, status }
    }
    if (status === 404) {
      await discard(res.body)
      throw new NotFoundError(registry, `${where}: HTTP 404`)
    }
    if (status === 429 || status === 403) {
      const retryAfterMs = parseRetryAfter(res.headers['retry-after'])
      const text = await this.readErrorText(res.body)
      const banned = status === 403 || BAN_WORDS.test(text)
      const detail = text.trim().slice(0, 200).replace(/\s+/g, ' ')
      throw new RateLimitedError(registry, `${where}: HTTP ${status}${detail !== '' ? `: ${detail}` : ''}`, retryAfterMs, banned)
    }
    await discard(res.body)
    if (status >= 500) {
      throw new TransientLookupError(registry, 'server-error', `${where}: HTTP ${status}`)
    }
    throw new MalformedResponseError(registry, `${where}: unexpected HTTP ${status}`, 0)
  }

  /** Reads a body up to `limit` bytes; past it, destroys the stream and throws TooLarge. */
  private async readBody (body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
    const chunks: Buffer[] = []
    let bytes = 0
    for await (const chunk of body) {
      const buf = chunk as Buffer
      bytes += buf.length
      if (bytes > limit) {
        body.destroy()
        throw new TooLarge(`body exceeds ${limit} bytes`)
      }
      chunks.push(buf)
    }
    return Buffer.concat(chunks, bytes)
  }

  /** The start of an error body, for ban notices; a failure to read it is not an error. */
  private async readErrorText (body: Dispatcher.ResponseData['body']): Promise<string> {
    const chunks: Buffer[] = []
    let bytes = 0
    try {
      for await (const chunk of body) {
        const buf = chunk as Buffer
        chunks.push(buf)
        bytes += buf.length
        if (bytes >= ERROR_BODY_BYTES) break
      }
    } catch {}
    return Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES).toString('utf8')
  }

  /** Closes the connections of the client's own Agent (a dispatcher passed in is left alone). */
  async close (): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close()
  }
}

/**
 * Reads a small unwanted body to its end so the connection can carry the next request; a larger
 * one (or a failure) destroys the stream, which closes the connection.
 */
async function discard (body: Dispatcher.ResponseData['body']): Promise<void> {
  try {
    await body.dump({ limit: ERROR_BODY_BYTES })
  } catch {
    body.destroy()
  }
}

function isLookupError (err: unknown): boolean {
  return err instanceof NotFoundError || err instanceof RateLimitedError || err instanceof TransientLookupError ||
    err instanceof MalformedResponseError
}
