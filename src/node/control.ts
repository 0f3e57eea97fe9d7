/**
 * The loopback-only control endpoint of a running node. LevelDB allows one process per data
 * directory, so `dump`, `lookup`, `coverage` (GET) and `distrust` (POST) talk to the running node
 * through this endpoint instead of opening the database.
 *
 * The node listens on 127.0.0.1 (port chosen by the OS unless given) and writes
 * `<data>/control.json` = { pid, port, token } with mode 0600; every request must carry
 * `Authorization: Bearer <token>`, so only users who can read the data directory get answers.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { drainedOrClosed } from '../util/drain.js'

export const CONTROL_FILE = 'control.json'

export class ControlError extends Error {
  override readonly name = 'ControlError'
}

export interface ControlFile { pid: number, port: number, token: string }

/**
 * A route handler: returns a JSON-able value, or calls `stream()` and writes a text answer to the
 * stream it returns (then its return value is ignored). `body` is the request's body (a POST's).
 */
export type ControlHandler = (params: URLSearchParams, stream: () => Writable, body: Readable) => Promise<unknown>

export interface ControlServerOptions {
  dataDir: string
  /** 0 = chosen by the OS (default) */
  port?: number
}

export class ControlServer {
  private server: Server | undefined
  private readonly token = randomBytes(24).toString('hex')

  constructor (private readonly opts: ControlServerOptions, private readonly routes: Record<string, ControlHandler>) {}

  async start (): Promise<number> {
    const server = createServer((req, res) => { void this.handle(req, res) })
    server.requestTimeout = 0 // dumps can stream for a while
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve() })
    })
    this.server = server
    const port = (server.address() as { port: number }).port
    const file = join(this.opts.dataDir, CONTROL_FILE)
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify({ pid: process.pid, port, token: this.token } satisfies ControlFile), { mode: 0o600 })
    await rename(tmp, file)
    return port
  }

  /** the bearer token, compared in constant time (a timing difference would leak it byte by byte) */
  private authorized (header: string | undefined): boolean {
    const got = Buffer.from(header ?? '', 'utf8')
    const want = Buffer.from(`Bearer ${this.token}`, 'utf8')
    return got.length === want.length && timingSafeEqual(got, want)
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (!this.authorized(req.headers.authorization)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad or missing token' }))
      return
    }
    // a route that changes something is keyed with its method ("POST /v1/distrust"); a bare path is a GET
    const route = req.method === 'GET' ? this.routes[url.pathname] : this.routes[`${req.method ?? ''} ${url.pathname}`]
    if (route == null) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route ${req.method ?? ''} ${url.pathname}` }))
      return
    }
    try {
      let streaming = false
      const stream = (): Writable => {
        streaming = true
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        return res
      }
      const value = await route(url.searchParams, stream, req)
      if (streaming) {
        res.end()
      } else {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(value ?? null))
      }
    } catch (err: any) {
      if (!res.headersSent) {
        res.writeHead(err?.name === 'UserError' || err?.name === 'InvalidAddressError' ? 400 : 500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: String(err?.message ?? err) }))
      } else {
        res.destroy(err)
      }
    }
  }

  async stop (): Promise<void> {
    await rm(join(this.opts.dataDir, CONTROL_FILE), { force: true })
    const server = this.server
    if (server == null) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
}

/** Reads the control file of the node running on `dataDir`; throws ControlError if none runs. */
export async function readControlFile (dataDir: string): Promise<ControlFile> {
  let text: string
  try {
    text = await readFile(join(dataDir, CONTROL_FILE), 'utf8')
  } catch {
    throw new ControlError(`the data directory ${dataDir} is locked by another process, and no running whoismesh node answers for it (no ${CONTROL_FILE})`)
  }
  let cf: ControlFile
  try {
    cf = JSON.parse(text)
  } catch {
    throw new ControlError(`${join(dataDir, CONTROL_FILE)} is not valid JSON`)
  }
  try {
    process.kill(cf.pid, 0)
  } catch {
    throw new ControlError(`the data directory ${dataDir} is locked, but the node that wrote ${CONTROL_FILE} (pid ${cf.pid}) is gone`)
  }
  return cf
}

/**
 * Calls a route of the node running on `dataDir`. With `out`, the answer body is streamed there;
 * otherwise the parsed JSON answer is returned.
 */
export async function callControl (dataDir: string, path: string, params: Record<string, string | string[] | undefined>, out?: Writable, method: 'GET' | 'POST' = 'GET'): Promise<unknown> {
  const cf = await readControlFile(dataDir)
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: cf.port, method, path: withQuery(path, params), headers: { authorization: `Bearer ${cf.token}` } }, res => {
      const isJson = (res.headers['content-type'] ?? '').startsWith('application/json')
      if (res.statusCode !== 200 || isJson || out == null) {
        readAnswer(res, (parsed, body) => {
          if (res.statusCode !== 200) reject(new ControlError(`the running node answered: ${String(parsed?.error ?? body)}`))
          else resolve(parsed)
        }, reject)
        return
      }
      res.pipe(out, { end: false })
      res.on('end', () => resolve(undefined))
      res.on('error', reject)
    })
    req.on('error', (err) => reject(new ControlError(`cannot reach the running node on 127.0.0.1:${cf.port}: ${err.message}`)))
    req.end()
  })
}

/** `path?k=v&…`, each value of an array as its own parameter, undefined ones left out. */
function withQuery (path: string, params: Record<string, string | string[] | undefined>): string {
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const one of v === undefined ? [] : [v].flat()) qs.append(k, one)
  return `${path}?${qs.toString()}`
}

/** Reads a whole answer body: its JSON (or its text when it is none), and its text. */
function readAnswer (res: IncomingMessage, done: (parsed: any, body: string) => void, fail: (err: Error) => void): void {
  const chunks: Buffer[] = []
  res.on('data', (c: Buffer) => chunks.push(c))
  res.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    let parsed: any
    try { parsed = JSON.parse(body) } catch { parsed = body }
    done(parsed, body)
  })
  res.on('error', fail)
}

/**
 * POSTs `body` to a route of the node running on `dataDir`, waiting for the request when it is
 * full, and streams the answer to `out` (which the caller ends). Rejects with a ControlError when
 * the node refuses, cannot be reached or stops answering before the end.
 */
export async function streamControl (dataDir: string, path: string, params: Record<string, string | undefined>, body: AsyncIterable<Buffer>, out: Writable): Promise<void> {
  const cf = await readControlFile(dataDir)
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: cf.port, method: 'POST', path: withQuery(path, params), headers: { authorization: `Bearer ${cf.token}`, 'content-type': 'text/plain; charset=utf-8' } }, res => {
      if (res.statusCode !== 200) {
        readAnswer(res, (parsed, body) => reject(new ControlError(`the running node answered: ${String(parsed?.error ?? body)}`)), reject)
        return
      }
      res.pipe(out, { end: false })
      res.on('end', () => resolve())
      res.on('close', () => { if (!res.complete) reject(new ControlError(`the running node on 127.0.0.1:${cf.port} stopped answering before the end`)) })
    })
    req.on('error', err => reject(new ControlError(`cannot reach the running node on 127.0.0.1:${cf.port}: ${err.message}`)))
    const send = async (): Promise<void> => {
      for await (const chunk of body) {
        if (!req.write(chunk)) await drainedOrClosed(req)
        if (req.destroyed) return
      }
      req.end()
    }
    send().catch(err => { req.destroy(); reject(err) })
  })
}
