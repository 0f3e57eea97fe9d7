/**
 * WHOIS (port 43) client: one TCP connection per query, the registry's own query syntax, the answer
 * read until the server closes, bounded in time and size. Failures are the lookup error classes.
 */
import { Socket } from 'node:net'
import type { RegistryId } from '../registry/interface.js'
import { formatIPv4 } from '../util/ipv4.js'
import { MalformedResponseError, RateLimitedError, TransientLookupError, type TransientKind } from './errors.js'
import type { WhoisAnswer } from './interface.js'
import { parseWhoisAnswer } from './whois-parser.js'

export interface WhoisClientOptions {
  /** whole exchange: connect + send + read until close */
  timeoutMs: number
  /** TCP connect (capped by timeoutMs) */
  connectTimeoutMs: number
  /** longest silence while reading the answer (capped by timeoutMs) */
  idleTimeoutMs: number
  /** answers larger than this fail with TransientLookupError('too-large') and the socket is destroyed */
  maxResponseBytes: number
}

/** The answer a WHOIS server gave, parsed, with its raw size. */
export interface WhoisReply {
  answer: WhoisAnswer
  bytes: number
}

/**
 * The query line (without CRLF) each registry wants for an IPv4 address:
 * - ARIN `n + <ip>`: `n` restricts the search to networks, `+` asks for the detailed form.
 * - RIPE, APNIC, AFRINIC (RIPE-derived servers) `-r <ip>`: no recursive contact lookups, so the
 *   query returns no personal objects and does not count against the personal-data daily limit.
 * - LACNIC `<ip>`: its server takes no flags.
 */
export function whoisQuery (registry: RegistryId, address: number): string {
  const ip = formatIPv4(address)
  switch (registry) {
    case 'arin': return `n + ${ip}`
    case 'ripe':
    case 'apnic':
    case 'afrinic': return `-r ${ip}`
    case 'lacnic': return ip
  }
}

/** Maps a socket (or name lookup) error code to what the crawler should do about it. */
export function transientKindOfCode (code: string | undefined): TransientKind {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return 'dns'
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return 'refused'
    case 'ETIMEDOUT':
      // connect() gave up (the kernel's own connect timeout)
      return 'connect-timeout'
    default:
      // ECONNRESET, EPIPE, ECONNABORTED and anything else that broke the connection
      return 'reset'
  }
}

export class WhoisClient {
  constructor (private readonly opts: WhoisClientOptions) {}

  /**
   * Sends the registry's query for `address` to host:port and parses the answer. Rate-limit and
   * ban answers become RateLimitedError; everything else (network, referral, not-found) is returned
   * for the caller to act on. An abort of `signal` rejects with the signal's reason.
   */
  async query (registry: RegistryId, host: string, port: number, address: number, signal?: AbortSignal): Promise<WhoisReply> {
    const raw = await this.exchange(registry, host, port, `${whoisQuery(registry, address)}\r\n`, signal)
    if (raw.length === 0) {
      // Servers that shed load (or block us without saying so) accept and close at once.
      throw new TransientLookupError(registry, 'reset', `whois ${host}:${port} closed the connection without an answer`)
    }
    const text = raw.toString('utf8')
    let answer: WhoisAnswer
    try {
      answer = parseWhoisAnswer(text, registry, address)
    } catch (err) {
      if (err instanceof TransientLookupError) throw err // an answer cut short
      throw asMalformed(err, registry, raw.length)
    }
    if (answer.kind === 'rate-limited' || answer.kind === 'banned') {
      throw new RateLimitedError(registry, `whois ${host}:${port}: ${answer.message}`, answer.retryAfterMs, answer.kind === 'banned')
    }
    return { answer, bytes: raw.length }
  }

  /**
   * Sends one query line of the caller's (e.g. a listing, lookup/listing.ts) and returns the
   * answer's text for the caller to parse. An empty answer is a TransientLookupError('reset').
   */
  async queryLine (registry: RegistryId, host: string, port: number, line: string, signal?: AbortSignal): Promise<string> {
    const raw = await this.exchange(registry, host, port, `${line}\r\n`, signal)
    if (raw.length === 0) throw new TransientLookupError(registry, 'reset', `whois ${host}:${port} closed the connection without an answer`)
    return raw.toString('utf8')
  }

  /** Connects, writes `line`, reads until the server closes. Resolves to the raw bytes. */
  private async exchange (registry: RegistryId, host: string, port: number, line: string, signal?: AbortSignal): Promise<Buffer> {
    signal?.throwIfAborted()
    const { timeoutMs, maxResponseBytes } = this.opts
    const connectTimeoutMs = Math.min(this.opts.connectTimeoutMs, timeoutMs)
    const idleTimeoutMs = Math.min(this.opts.idleTimeoutMs, timeoutMs)
    const where = `whois ${host}:${port}`

    return await new Promise<Buffer>((resolve, reject) => {
      const socket = new Socket()
      const chunks: Buffer[] = []
      let bytes = 0
      let settled = false

      const finish = (err: unknown, result?: Buffer): void => {
        if (settled) return
        settled = true
        clearTimeout(totalTimer)
        clearTimeout(connectTimer)
        signal?.removeEventListener('abort', onAbort)
        socket.removeAllListeners('data')
        socket.destroy()
        if (err !== undefined) reject(err)
        else resolve(result!)
      }
      const onAbort = (): void => finish(signal!.reason)
      signal?.addEventListener('abort', onAbort, { once: true })

      const totalTimer = setTimeout(() => {
        finish(new TransientLookupError(registry, 'timeout', `${where}: no complete answer within ${timeoutMs} ms`))
      }, timeoutMs)
      const connectTimer = setTimeout(() => {
        finish(new TransientLookupError(registry, 'connect-timeout', `${where}: connect took longer than ${connectTimeoutMs} ms`))
      }, connectTimeoutMs)

      socket.setTimeout(idleTimeoutMs, () => {
        finish(new TransientLookupError(registry, 'timeout', `${where}: silent for ${idleTimeoutMs} ms`))
      })
      socket.on('connect', () => {
        clearTimeout(connectTimer)
        socket.write(line)
      })
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (bytes > maxResponseBytes) {
          finish(new TransientLookupError(registry, 'too-large', `${where}: answer exceeds ${maxResponseBytes} bytes`))
          return
        }
        chunks.push(chunk)
      })
      socket.on('end', () => finish(undefined, Buffer.concat(chunks, bytes)))
      socket.on('error', (err: NodeJS.ErrnoException) => {
        finish(new TransientLookupError(registry, transientKindOfCode(err.code), `${where}: ${err.code ?? err.message}`))
      })
      // 'close' without 'end' or 'error' (should not happen) must still settle the promise.
      socket.on('close', () => finish(new TransientLookupError(registry, 'reset', `${where}: connection closed`)))

      socket.connect({ host, port })
    })
  }
}

/** Parser failures are malformed answers; anything unexpected a parser throws is treated as one too. */
export function asMalformed (err: unknown, registry: RegistryId, bytes: number): MalformedResponseError {
  if (err instanceof MalformedResponseError) return err
  const e = new MalformedResponseError(registry, `answer could not be parsed: ${err instanceof Error ? err.message : String(err)}`, bytes)
  e.cause = err
  return e
}
