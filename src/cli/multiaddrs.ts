import { multiaddr } from '@multiformats/multiaddr'
import { UserError } from '../util/errors.js'

/** Parses a comma-separated multiaddr list; with `needPeerId`, each must end in /p2p/<id>. */
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
    if (needPeerId && ma.getComponents().find(c => c.name === 'p2p') == null) {
      throw new UserError(`${flag}: "${item}" has no /p2p/<peer id>; get it with \`whoismesh id --data DIR\` on that node`)
    }
    if (!needPeerId && ma.getComponents().find(c => c.name === 'tcp') == null) {
      throw new UserError(`${flag}: "${item}" has no /tcp/<port>`)
    }
    out.push(ma.toString())
  }
  return out
}
