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

/**
 * Pipes `from` into `to` with delay, jitter and a bandwidth cap. Chunks wait in one queue per
 * direction drained by one timer, so they leave in the order they came (separate timers with
 * equal deadlines may fire in any order, which would corrupt the stream).
 */
function lossyPipe (from: Socket, to: Socket): void {
  const queue: Array<{ due: number, chunk: Buffer | null }> = []
  let timer: NodeJS.Timeout | undefined
  let lastDue = 0
  let budgetFreeAt = 0
  const drain = (): void => {
    timer = undefined
    const now = Date.now()
    while (queue.length > 0 && queue[0].due <= now) {
      const { chunk } = queue.shift()!
      if (to.destroyed) return
      if (chunk == null) to.end()
      else to.write(chunk)
    }
    if (queue.length > 0) timer = setTimeout(drain, queue[0].due - now)
    if (from.isPaused() && (queue.length === 0 || queue[queue.length - 1].due - now < 1000)) from.resume()
  }
  const push = (chunk: Buffer | null, due: number): void => {
    queue.push({ due, chunk })
    if (timer == null) timer = setTimeout(drain, Math.max(0, queue[0].due - Date.now()))
  }
  from.on('data', (chunk: Buffer) => {
    const now = Date.now()
    budgetFreeAt = Math.max(budgetFreeAt, now) + chunk.length / cfg.bytesPerSecond * 1000
    const delay = cfg.delayMs + (random() * 2 - 1) * cfg.jitterMs
    lastDue = Math.max(lastDue, now + delay, budgetFreeAt)
    stats.bytes += chunk.length
    push(chunk, lastDue)
    // backpressure: stop reading while more than ~2 s of data is queued
    if (lastDue - now > 2000) from.pause()
  })
  from.on('end', () => push(null, lastDue))
}

for (const route of cfg.routes) {
  const [targetHost, targetPort] = route.target.split(':')
  createServer(a => {
    stats.connections++
    const b = connect(Number(targetPort), targetHost)
    const pair = { a, b }
    live.add(pair)
    // an error (reset) on either side resets the pair; a clean end is passed on after the queued data
    const fail = (): void => { live.delete(pair); a.destroy(); b.destroy() }
    a.on('error', fail); b.on('error', fail)
    a.on('close', () => { if (b.destroyed) live.delete(pair) })
    b.on('close', () => { if (a.destroyed) live.delete(pair) })
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
