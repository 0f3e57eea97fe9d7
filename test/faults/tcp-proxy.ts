/**
 * A lossy TCP proxy for the fault suite's slow-links scenario (the kernel here has no netem).
 * Run inside a lab namespace: `node --import tsx tcp-proxy.ts '<json config>'`.
 *
 * For each route it listens on host:listenPort and forwards to target. Every chunk, each way, is
 * delivered after delayMs ± jitterMs (never before the chunk ahead of it, so TCP order holds);
 * each direction is held to bytesPerSecond; every second each connection is reset (both sides
 * destroyed) with probability resetPerSecond. Prints `listening`, then a JSON line of counters
 * about once a second.
 */
import { createServer, connect, type Socket } from 'node:net'
import { prngFloat } from '../../src/util/prng.js'

interface Config {
  host: string
  routes: Array<{ listenPort: number, target: string }>
  delayMs: number
  jitterMs: number
  resetPerSecond: number
  bytesPerSecond: number
  seed?: number
}

const cfg = JSON.parse(process.argv[2]) as Config
const random = prngFloat(cfg.seed ?? 1)
const stats = { connections: 0, resets: 0, bytes: 0 }
const live = new Set<{ a: Socket, b: Socket }>()

/** Pipes `from` into `to` with delay, jitter and a bandwidth cap. */
function lossyPipe (from: Socket, to: Socket): void {
  let lastDue = 0
  let budgetFreeAt = 0
  from.on('data', (chunk: Buffer) => {
    const now = Date.now()
    const transmit = chunk.length / cfg.bytesPerSecond * 1000
    budgetFreeAt = Math.max(budgetFreeAt, now) + transmit
    const delay = cfg.delayMs + (random() * 2 - 1) * cfg.jitterMs
    const due = Math.max(lastDue, now + delay, budgetFreeAt)
    lastDue = due
    stats.bytes += chunk.length
    // backpressure: stop reading while more than ~2 s of data is queued
    if (due - now > 2000) { from.pause(); setTimeout(() => from.resume(), due - now - 1000) }
    setTimeout(() => { if (!to.destroyed) to.write(chunk) }, due - now)
  })
  from.on('end', () => setTimeout(() => to.end(), Math.max(0, lastDue - Date.now())))
}

for (const route of cfg.routes) {
  const [targetHost, targetPort] = route.target.split(':')
  createServer(a => {
    stats.connections++
    const b = connect(Number(targetPort), targetHost)
    const pair = { a, b }
    live.add(pair)
    const close = (): void => { live.delete(pair); a.destroy(); b.destroy() }
    a.on('error', close); b.on('error', close); a.on('close', close); b.on('close', close)
    lossyPipe(a, b)
    lossyPipe(b, a)
  }).listen(route.listenPort, cfg.host, () => {
    if (route === cfg.routes[cfg.routes.length - 1]) process.stdout.write('listening\n')
  })
}

setInterval(() => {
  for (const pair of live) {
    if (random() < cfg.resetPerSecond) {
      stats.resets++
      live.delete(pair)
      pair.a.resetAndDestroy()
      pair.b.resetAndDestroy()
    }
  }
  process.stdout.write(JSON.stringify(stats) + '\n')
}, 1000)
