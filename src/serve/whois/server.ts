/**
 * The port-43 WHOIS service (`node start --serve-whois`, `whoismesh serve --whois`): answers
 * `whois -h HOST -p PORT 8.8.8.8` and netcat's bulk mode from the node's replica, never asking a
 * registry. The protocol is RFC 3912's: the client sends one line, the server answers and closes.
 * A first line `begin` starts bulk mode instead (Team Cymru's convention): an optional `verbose`,
 * then one address per line, answered one line each in the order asked, until `end` or the
 * client's end of input (format.ts).
 *
 * Bulk mode looks its lines up in batches, answers written in order; reading pauses while the
 * client does not read what it asked for; each batch takes a turn of the event loop of its own.
 * A network's cells of a line are made once (an AnswerMemo, store/answer-memo.ts: made again when
 * a commit replaces the network) — for every network when bulk mode is first asked for, by a scan
 * in the background (`warm`) — so that an address costs a walk of the in-memory index and no
 * read of the store.
 *
 * Bounded per connection and per client: a line's length, the lines of a connection, the time a
 * connection may stay idle, the connections one client address may hold and all connections.
 * Every refusal is a `%` line before the connection closes, and a bad line in bulk mode gets an
 * error line in its place: a client never sees a connection closed without a word.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { drainedOrClosed } from '../../util/drain.js'
import { formatIPv4, tryParseIPv4 } from '../../util/ipv4.js'
import type { AnswerSource } from '../interface.js'
import { AnswerMemo } from '../../store/answer-memo.js'
import { COMMENT, USAGE_LINES, bulkCellsOf, bulkErrorLine, bulkHeader, firstBulkLine, formatAnswer, type BulkCells } from './format.js'

export interface WhoisServiceOptions {
  /** address to listen on @default '127.0.0.1' */
  host: string
  /** TCP port; 0 picks a free one */
  port: number
  /** longest line accepted, bytes @default 1024 */
  maxLineBytes: number
  /** lines a connection may send (bulk mode) before it is closed @default 1_000_000 */
  maxLinesPerConnection: number
  /** a connection that sends nothing for this long is closed @default 30_000 */
  idleTimeoutMs: number
  /** connections one client address may hold at once @default 8 */
  maxConnectionsPerClient: number
  /** connections in all @default 256 */
  maxConnections: number
  /** bulk mode: addresses looked up together (each network read once for them) @default 1024 */
  batchLines: number
  /** bulk mode: batches of one connection under way at once @default 4 */
  batchesInFlight: number
  /**
   * bulk mode: when it is first asked for, make every network's cells of a line by one scan of the
   * store in the background, so that no address waits for a read then (else, and until then, they
   * are made as addresses need them) @default true
   */
  warm: boolean
}

export const WHOIS_SERVICE_DEFAULTS: Omit<WhoisServiceOptions, 'port'> = {
  host: '127.0.0.1',
  maxLineBytes: 1024,
  maxLinesPerConnection: 1_000_000,
  idleTimeoutMs: 30_000,
  maxConnectionsPerClient: 8,
  maxConnections: 256,
  batchLines: 1024,
  batchesInFlight: 4,
  warm: true
}

export interface WhoisServiceComponents {
  source: AnswerSource
  /** a line per refusal and per failed lookup (warnings), and one when bulk mode's answers are prepared ('info') */
  log?: (msg: string, fields?: Record<string, unknown>, level?: 'info' | 'warn') => void
  /** ms since epoch, for the ages printed @default Date.now */
  now?: () => number
}

export interface WhoisService {
  readonly host: string
  readonly port: number
  /**
   * Starts making every network's cells of a bulk line now, unless they are being made or were
   * made for the store's index as it is (bulk mode starts it; again after a distrust emptied
   * them); resolves when done or stopped (the service closed), with how many were made. Without
   * `warm`: nothing is made ahead.
   */
  warm: () => Promise<{ made: number, complete: boolean }>
  close: () => Promise<void>
}

/** Listens; resolves once it does (rejects with the listen error: EADDRINUSE, EACCES…). */
export async function startWhoisService (opts: Partial<WhoisServiceOptions> & { port: number }, components: WhoisServiceComponents): Promise<WhoisService> {
  const o: WhoisServiceOptions = { ...WHOIS_SERVICE_DEFAULTS, ...opts }
  /** bulk mode's cells of each network, made once per network while it is unchanged */
  const memo = new AnswerMemo<BulkCells>(bulkCellsOf)
  const perClient = new Map<string, number>()
  const sockets = new Set<Socket>()
  /** refused connections, until their clients close them (or the idle time cuts them off) */
  const refused = new Set<Socket>()
  const server: Server = createServer({ allowHalfOpen: true }, socket => {
    const client = socket.remoteAddress ?? '?'
    const held = perClient.get(client) ?? 0
    if (sockets.size >= o.maxConnections || held >= o.maxConnectionsPerClient) {
      const why = held >= o.maxConnectionsPerClient ? `too many connections from ${client} (at most ${o.maxConnectionsPerClient} at once)` : 'too many connections'
      components.log?.('whois service: connection refused', { client, why })
      refused.add(socket)
      socket.once('close', () => refused.delete(socket))
      socket.on('error', () => {})
      socket.setTimeout(o.idleTimeoutMs, () => socket.destroy())
      socket.end(`${COMMENT}Refused: ${why}; try again later.\r\n`)
      // what the client sends is not read, but its end must be, for the socket to close
      socket.resume()
      return
    }
    perClient.set(client, held + 1)
    sockets.add(socket)
    socket.once('close', () => {
      sockets.delete(socket)
      const n = (perClient.get(client) ?? 1) - 1
      if (n <= 0) perClient.delete(client)
      else perClient.set(client, n)
    })
    serveConnection(socket, o, components, memo, () => { void warm() })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve() })
  })
  // after listening: an accept error (EMFILE under a flood) is said, never thrown at nobody
  server.on('error', err => components.log?.('whois service: error', { err: String(err?.message ?? err) }))
  const address = server.address() as AddressInfo
  const stopWarming = new AbortController()
  let warming: Promise<{ made: number, complete: boolean }> | undefined
  let warmingNow = false
  /** memo.resets when the last warm-up ended: a distrust since emptied the memo, and bulk mode warms it again */
  let warmedAt = -1
  const warm = async (): Promise<{ made: number, complete: boolean }> => {
    if (!o.warm) return { made: 0, complete: false }
    if (!warmingNow && (warming === undefined || memo.resets !== warmedAt)) {
      warmingNow = true
      warming = (async () => {
        const t0 = performance.now()
        try {
          const done = await components.source.warm(memo, stopWarming.signal)
          if (done.complete) components.log?.('whois service: bulk answers prepared', { networks: done.made, ms: Math.round(performance.now() - t0) }, 'info')
          return done
        } catch (err: any) {
          // answers are made as addresses need them, as without `warm`
          components.log?.('whois service: could not prepare the bulk answers', { err: String(err?.message ?? err) })
          return { made: 0, complete: false }
        } finally {
          warmedAt = memo.resets
          warmingNow = false
        }
      })()
    }
    return await warming!
  }
  return {
    host: address.address,
    port: address.port,
    warm,
    close: async () => {
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      for (const s of [...sockets, ...refused]) s.destroy()
      stopWarming.abort()
      await Promise.all([closed, warming])
    }
  }
}

/** One connection: a query, or bulk mode. */
function serveConnection (socket: Socket, o: WhoisServiceOptions, c: WhoisServiceComponents, memo: AnswerMemo<BulkCells>, bulkStarted: () => void): void {
  const now = c.now ?? Date.now
  let mode: 'first' | 'bulk' | 'done' = 'first'
  let verbose = false
  let headerWritten = false
  let lines = 0
  let partial = ''
  let overlong = false
  /** bulk answers under way, in the order asked */
  let inFlight = 0
  /** bulk mode: the lines read since the last batch went out: an address, or an error line ready */
  let batch: Array<number | string> = []
  let tail: Promise<void> = Promise.resolve()
  /** text read but not parsed yet: parsing waits while `batchesInFlight` answers are under way */
  let held = ''
  /** the client's end of input came */
  let ended = false

  socket.setEncoding('latin1')
  socket.setTimeout(o.idleTimeoutMs)
  socket.on('timeout', () => {
    // after our end, or while the client does not read what it asked for: cut off
    if (mode === 'done' || inFlight > 0 || socket.writableLength > 0) { socket.destroy(); return }
    finish(`${COMMENT}Idle for ${o.idleTimeoutMs / 1000} s: closing.\r\n`)
    // again: a client that does not close its side then is cut off
    socket.setTimeout(o.idleTimeoutMs)
  })
  socket.on('error', () => { mode = 'done' })

  /** Writes in order after every answer before it; stops parsing while the client does not read. */
  const write = (text: string | Promise<string>): void => {
    inFlight++
    tail = tail.then(async () => {
      const s = await text
      if (socket.destroyed) return
      if (!socket.write(s)) await drainedOrClosed(socket)
    }).catch((err: any) => {
      c.log?.('whois service: an answer could not be written', { err: String(err?.message ?? err) })
      socket.destroy()
    }).finally(() => {
      inFlight--
      if (inFlight < o.batchesInFlight / 2 && mode !== 'done') {
        if (held !== '') consume()
        // consume() may have ended the connection, or paused again
        if (held === '' && (mode as string) !== 'done') socket.resume()
      }
    })
  }

  /** Ends the connection once everything before is written. */
  const finish = (last?: string): void => {
    if (mode === 'done') return
    mode = 'done'
    socket.pause()
    void tail.then(() => closeAfter(last ?? ''))
  }

  /** Writes the last text and ends our side; what the client still sends is read and dropped, so its end closes the socket. */
  const closeAfter = (text: string): void => {
    if (socket.destroyed) return
    socket.end(text)
    socket.resume()
  }

  const answer = async (address: number): Promise<string> => {
    try {
      return formatAnswer(await c.source.lookup(address), c.source.replica(), now())
    } catch (err: any) {
      c.log?.('whois service: lookup failed', { err: String(err?.message ?? err) })
      return `${COMMENT}Internal error: the lookup failed; try again later.\r\n`
    }
  }

  /** The lines of a batch, looked up together; if the lookups fail, an error line for each. */
  const answerBatch = async (items: Array<number | string>, asVerbose: boolean): Promise<string> => {
    const addresses = items.filter((x): x is number => typeof x === 'number')
    try {
      // each batch in a turn of the event loop of its own: what else the node does (its crawl's
      // answers, timers) comes between batches, never behind all of them
      await new Promise(resolve => setImmediate(resolve))
      const answers = await c.source.firstMany(addresses, memo)
      let k = 0
      return items.map(x => typeof x === 'number' ? firstBulkLine(x, answers[k++], asVerbose) : x).join('')
    } catch (err: any) {
      c.log?.('whois service: lookup failed', { err: String(err?.message ?? err) })
      return items.map(x => typeof x === 'number' ? bulkErrorLine(formatIPv4(x), 'internal error: the lookup failed; ask again later', asVerbose) : x).join('')
    }
  }

  /** Sends the batch read so far on its way (its answer written after everything before it). */
  const flushBatch = (): void => {
    if (batch.length === 0) return
    write(answerBatch(batch, verbose))
    batch = []
  }

  const onLine = (raw: string, tooLong: boolean): void => {
    const line = raw.replace(/\r$/, '').trim()
    if (mode === 'first') {
      if (tooLong) return finish(`${COMMENT}Query over ${o.maxLineBytes} bytes refused.\r\n`)
      if (line.toLowerCase() === 'begin') { mode = 'bulk'; bulkStarted(); return }
      // a whois client may send flags before the query (`-B 8.8.8.8`): the address is the last word
      const query = line.split(/\s+/).pop() ?? ''
      const address = tryParseIPv4(query)
      if (address === undefined) {
        const why = line === '' || line.toLowerCase() === 'help' ? '' : `${COMMENT}Not an IPv4 address: "${printable(line)}"\r\n%\r\n`
        return finish(why + USAGE_LINES.map(l => COMMENT + l + '\r\n').join(''))
      }
      const text = answer(address)
      mode = 'done'
      socket.pause()
      void text.then(closeAfter)
      return
    }
    if (mode !== 'bulk') return
    if (!tooLong && (line === '' || line.startsWith('#'))) return
    const word = tooLong ? '' : line.toLowerCase()
    if (word === 'end') { flushBatch(); return finish() }
    // every line answered counts, an error line too
    if (++lines > o.maxLinesPerConnection) {
      flushBatch()
      return finish(`${COMMENT}Limit of ${o.maxLinesPerConnection.toLocaleString('en-US')} lines per connection reached: closing; send the rest on a new connection.\r\n`)
    }
    if (tooLong) { addToBatch(bulkErrorLine(raw, `line over ${o.maxLineBytes} bytes`, verbose)); return }
    if (word === 'verbose' || word === 'noverbose') {
      if (!headerWritten) { verbose = word === 'verbose'; lines-- } else addToBatch(bulkErrorLine(line, `"${word}" must come before the first address`, verbose))
      return
    }
    const address = tryParseIPv4(line)
    addToBatch(address === undefined ? bulkErrorLine(line, 'not an IPv4 address', verbose) : address)
  }

  const addToBatch = (item: number | string): void => {
    // the first line fixes the columns: "verbose" after it is refused
    if (!headerWritten && batch.length === 0) { headerWritten = true; write(bulkHeader(verbose, now())) }
    batch.push(item)
    if (batch.length >= o.batchLines) flushBatch()
  }

  /** Parses the lines held, until answers under way reach `batchesInFlight` (the rest waits). */
  const consume = (): void => {
    const text = held
    let start = 0
    for (let nl = text.indexOf('\n'); nl >= 0 && mode !== 'done'; nl = text.indexOf('\n', start)) {
      if (inFlight >= o.batchesInFlight) {
        held = text.slice(start)
        socket.pause()
        return
      }
      const piece = text.slice(start, nl)
      start = nl + 1
      const tooLong = overlong || partial.length + piece.length > o.maxLineBytes
      const line = tooLong ? (partial + piece.slice(0, 64)).slice(0, 64) : partial + piece
      partial = ''
      overlong = false
      onLine(line, tooLong)
    }
    held = ''
    // what was read goes out now; a batch fills only within what was read
    if (mode === 'bulk') flushBatch()
    if (mode === 'done') return
    const rest = text.slice(start)
    if (!overlong) {
      if (partial.length + rest.length > o.maxLineBytes) {
        overlong = true
        partial = (partial + rest).slice(0, 64)
      } else {
        partial += rest
      }
    }
    if (ended) onEnd()
  }

  /** The client's end of input: a last line without a line break counts; bulk mode ends as with `end`. */
  const onEnd = (): void => {
    if (mode !== 'done' && (partial !== '' || overlong)) onLine(partial, overlong)
    partial = ''
    overlong = false
    if (mode === 'bulk') flushBatch()
    if (mode === 'first') finish(USAGE_LINES.map(l => COMMENT + l + '\r\n').join(''))
    else finish()
  }

  socket.on('data', (chunk: string) => {
    if (mode === 'done') return
    held += chunk
    consume()
  })
  socket.on('end', () => {
    ended = true
    if (held === '') onEnd()
  })
}

function printable (s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.slice(0, 64).replace(/[\u0000-\u001f\u007f-\u00ff]/g, '?')
}
