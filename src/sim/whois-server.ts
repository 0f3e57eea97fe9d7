/**
 * One registry's WHOIS server (RFC 3912): read one query line, write the answer in the registry's
 * format, close. Queries: ARIN `n + <ip>` (any ARIN flags), RIPE/APNIC/AFRINIC `-r <ip>` (any
 * flags, e.g. `-r -B`, `-T inetnum`), LACNIC `<ip>`; the address is the query's IPv4 token.
 * RIPE/APNIC/AFRINIC also answer more-specific listings (`-m`/`-M <range>`, sim/listing.ts).
 * Bounded: query line length, idle time before the line arrives, connection count.
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { RegistryId } from '../registry/interface.js'
import { tryParseIPv4 } from '../util/ipv4.js'
import type { SimContext } from './context.js'
import { injectFault, malformedBytes, streamHuge, type FaultRendering } from './faults.js'
import { decide } from './responder.js'
import { listedNetworks, parseRpslListingQuery, rpslListingAnswer } from './listing.js'
import {
  arinBannedAnswer, arinChainAnswer, arinNotFoundAnswer, arinRateLimitedAnswer, arinReferralAnswer,
  lacnicBannedAnswer, lacnicNetworkAnswer, lacnicNotFoundAnswer, lacnicRateLimitedAnswer, lacnicReferralAnswer,
  rpslBadQueryAnswer, rpslBannedAnswer, rpslNetworkAnswer, rpslNotFoundAnswer, rpslRateLimitedAnswer, rpslReferralAnswer
} from './whois-format.js'

/** RPSL flags that take an argument (`-T inetnum`, `-s RIPE`, `-i mnt-by`, `-V client`, …). */
const RPSL_FLAGS_WITH_ARGUMENT = new Set(['-T', '-s', '-i', '-V', '-t', '-v', '-q', '-a', '--sources', '--types', '--client', '--inverse', '--template', '--verbose'])

/** The queried address in a WHOIS query line, or undefined. */
export function queryAddress (registry: RegistryId, queryLine: string): number | undefined {
  const tokens = queryLine.trim().split(/\s+/).filter(t => t !== '')
  let candidate: string | undefined
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]
    if (registry !== 'arin' && registry !== 'lacnic' && RPSL_FLAGS_WITH_ARGUMENT.has(t)) { i++; continue }
    if (tryParseIPv4(t.replace(/\/32$/, '')) !== undefined) candidate = t.replace(/\/32$/, '')
  }
  return candidate !== undefined ? tryParseIPv4(candidate) : undefined
}

export function createWhoisServer (ctx: SimContext, registry: RegistryId): Server {
  const { opts } = ctx
  const server = createServer({ allowHalfOpen: true }, socket => {
    ctx.trackSocket(socket)
    socket.on('error', () => {})
    socket.setTimeout(opts.idleTimeoutMs, () => socket.destroy())
    let buffered = Buffer.alloc(0)
    let done = false
    const finish = (line: string): void => {
      if (done) return
      done = true
      // further input is read and dropped (the client may still half-close after its line)
      socket.removeAllListeners('data')
      socket.on('data', () => {})
      try {
        answer(ctx, registry, socket, line)
      } catch {
        socket.destroy()
      }
    }
    socket.on('data', (chunk: Buffer) => {
      if (done) return
      buffered = Buffer.concat([buffered, chunk])
      const nl = buffered.indexOf(10)
      if (nl >= 0 && nl <= opts.maxQueryLineBytes) {
        finish(buffered.subarray(0, nl).toString('latin1').replace(/\r$/, ''))
      } else if (buffered.length > opts.maxQueryLineBytes) {
        done = true
        socket.removeAllListeners('data')
        ctx.metrics.registries[registry].queries++
        ctx.metrics.badRequests++
        socket.end(badQuery(registry, 'input line too long', ''))
      }
    })
    // a client that half-closes without a newline still gets its answer
    socket.on('end', () => {
      if (!done) {
        if (buffered.length > 0) finish(buffered.toString('latin1').replace(/\r?\n?$/, ''))
        else socket.end()
      }
    })
  })
  server.maxConnections = opts.maxConnections
  return server
}

function badQuery (registry: RegistryId, what: string, query: string): string {
  switch (registry) {
    case 'arin': return arinNotFoundAnswer(query === '' ? what : query)
    case 'lacnic': return lacnicNotFoundAnswer(query === '' ? what : query)
    default: return rpslBadQueryAnswer(registry, what === 'input line too long' ? '107: input line too long' : `108: ${what}`)
  }
}

function answer (ctx: SimContext, registry: RegistryId, socket: Socket, line: string): void {
  const m = ctx.metrics
  const stats = m.registries[registry]
  stats.queries++
  const query = line.trim().slice(0, 200)
  const listing = registry !== 'arin' && registry !== 'lacnic' ? parseRpslListingQuery(line) : undefined
  const address = listing?.start ?? queryAddress(registry, line)
  const send = (text: string): void => ctx.afterLatency(() => { socket.end(text) })
  if (address === undefined) {
    m.badRequests++
    send(badQuery(registry, 'invalid query: no IPv4 address', query))
    return
  }
  const client = socket.remoteAddress ?? 'unknown'
  const admission = ctx.admit(registry, client)
  if (admission.kind === 'rate-limited') {
    send(registry === 'arin'
      ? arinRateLimitedAnswer(admission.retryAfterSeconds)
      : registry === 'lacnic'
        ? lacnicRateLimitedAnswer(admission.retryAfterSeconds)
        : rpslRateLimitedAnswer(registry, admission.retryAfterSeconds))
    return
  }
  if (admission.kind === 'banned') {
    send(registry === 'arin'
      ? arinBannedAnswer(admission.retryAfterSeconds)
      : registry === 'lacnic'
        ? lacnicBannedAnswer(admission.retryAfterSeconds)
        : rpslBannedAnswer(registry, client, admission.retryAfterSeconds))
    return
  }

  const fault = ctx.nextFault(registry)
  const render = (): string => {
    if (listing !== undefined && registry !== 'arin' && registry !== 'lacnic') {
      if (listing.start === 0 && listing.end === 0xffffffff) {
        return rpslBadQueryAnswer(registry, "112: unsupported query\n%\n% '-mM' query options are not allowed on very large ranges/prefixes.")
      }
      const nets = listedNetworks((s, e) => ctx.view.children(registry, s, e), listing)
      if (fault === undefined) { stats.listings++; stats.listed_networks += nets.length }
      return rpslListingAnswer(registry, nets, rpslNotFoundAnswer(registry))
    }
    const decision = decide(ctx.view, registry, address)
    switch (decision.kind) {
      case 'network': {
        if (fault === undefined) m.networkServed(registry, decision.network.index, decision.network.leaf === true)
        const n = decision.network
        return registry === 'arin'
          ? arinChainAnswer(decision.chain, ctx.endpoints.arin.rdapBaseUrl)
          : registry === 'lacnic' ? lacnicNetworkAnswer(n) : rpslNetworkAnswer(n)
      }
      case 'redirect': {
        if (fault === undefined) stats.redirects++
        const { to, transferred, blockStart, blockEnd } = decision
        return registry === 'arin'
          ? arinReferralAnswer(to, transferred, blockStart, blockEnd, ctx.endpoints)
          : registry === 'lacnic'
            ? lacnicReferralAnswer(to, address, blockStart, blockEnd, ctx.endpoints)
            : rpslReferralAnswer(registry, to, blockStart, blockEnd, ctx.endpoints)
      }
      case 'not-found':
        if (fault === undefined) stats.not_found++
        return registry === 'arin'
          ? arinNotFoundAnswer(query)
          : registry === 'lacnic' ? lacnicNotFoundAnswer(query) : rpslNotFoundAnswer(registry)
    }
  }
  if (fault === undefined) {
    send(render())
    return
  }
  injectFault(ctx, fault, socket, whoisFaults(ctx, socket, render))
}

/** The WHOIS shapes of the faults that carry a body: a cut answer closes cleanly, as a crashed server's would. */
function whoisFaults (ctx: SimContext, socket: Socket, render: () => string): FaultRendering {
  return {
    truncated: () => {
      const text = Buffer.from(render())
      socket.end(text.subarray(0, Math.floor(text.length / 2)))
    },
    malformed: () => socket.end(malformedBytes(false)),
    huge: () => { streamHuge(socket, ctx.opts.hugeBytes, '', '', `remarks:        ${'x'.repeat(64)}\n`).catch(() => socket.destroy()) }
  }
}
