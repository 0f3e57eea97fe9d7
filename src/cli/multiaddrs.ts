import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { UserError } from '../util/errors.js'

/**
 * Parses a comma-separated multiaddr list; each needs a /tcp/<port> (the only transport), and with
 * `needPeerId` a valid /p2p/<peer id> as well.
 */
export function parseMultiaddrList (flag: string, value: string | undefined, needPeerId: boolean): string[] {
  if (value == null) return []
  const out: string[] = []
  for (const item of value.split(',').map(s => s.trim()).filter(s => s !== '')) {
    let ma
    try {
      ma = multiaddr(item)
    } catch (err: any) {
      throw new UserError(`${flag}: "${item}" is not a multiaddr (${String(err.message).split('\n')[0]})`)
    }
    const p2p = ma.getComponents().find(c => c.name === 'p2p')
    if (needPeerId && p2p == null) {
      throw new UserError(`${flag}: "${item}" has no /p2p/<peer id>; get it with \`whoismesh id --data DIR\` on that node`)
    }
    if (p2p != null) {
      try {
        peerIdFromString(p2p.value ?? '')
      } catch {
        throw new UserError(`${flag}: "${item}" has a bad peer id "${p2p.value ?? ''}"; get it with \`whoismesh id --data DIR\` on that node`)
      }
    }
    if (ma.getComponents().find(c => c.name === 'tcp') == null) {
      throw new UserError(`${flag}: "${item}" has no /tcp/<port>`)
    }
    out.push(ma.toString())
  }
  return out
}

/**
 * A listen failure of a node or light peer as one line naming the flag behind it: the mesh's
 * (libp2p reports every address that failed in one multi-line message), the control endpoint's or
 * the metrics server's. Other errors are returned as they are.
 */
export function nameListenFailure (err: unknown, flags: { listen: string, controlPort?: string, metricsPort?: string }): unknown {
  const e = err as { name?: string, message?: string, code?: string, syscall?: string, address?: string, port?: number }
  if (e?.name === 'UnsupportedListenAddressesError') {
    // "…:\n\n  /ip4/127.0.0.1/tcp/4001: Error: listen EADDRINUSE: address already in use 127.0.0.1:4001\n      at …"
    const m = /^\s*(\/\S+): (?:\w*Error: )?(.*)$/m.exec(e.message ?? '')
    if (m == null) return new UserError(`${flags.listen}: cannot listen on every address given`)
    return new UserError(`${flags.listen}: cannot listen on ${m[1]}: ${osReason(m[2])}`)
  }
  if (e?.name === 'MetricsServerError' && flags.metricsPort != null) return new UserError(`${flags.metricsPort}: ${e.message ?? ''}`)
  if (e?.syscall === 'listen' && flags.controlPort != null) {
    return new UserError(`${flags.controlPort}: cannot listen on ${e.address ?? '127.0.0.1'}:${String(e.port)}: ${osReason(e.message ?? '')}`)
  }
  return err
}

/** "listen EADDRINUSE: address already in use 127.0.0.1:4001" → "address already in use" */
function osReason (message: string): string {
  const m = /^listen (E[A-Z]+): (.*?)(?: [\d.:[\]a-fA-F]*\d)?$/.exec(message)
  if (m == null) return message
  if (m[1] === 'EADDRNOTAVAIL') return `${m[2]} (not an address of this machine)`
  return m[2]
}
