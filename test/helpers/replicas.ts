/**
 * What two stopped nodes' replicas hold differently, for a failure message: the networks and notes
 * one has and the other has not, by identity (what the set digest sums: store/digest.ts), each with
 * its author, fetch time and listing mark so the path that brought it can be told.
 */
import { NetworkStore, negativeHash, networkHash } from '../../src/store/index.js'

function describe (kind: 'n' | 'x', r: Record<string, any>): string {
  const head = kind === 'n'
    ? `network ${String(r.start)}-${String(r.end)} ${String(r.registry)} ${String(r.handle)} name=${String(r.name)}`
    : `note ${String(r.address)} ${String(r.registry)} ${String(r.reason)}`
  return `${head} author=${String(r.author ?? '-').slice(-6)} fetchedAt=${String(r.fetchedAt)}${r.listedSample !== undefined ? ` listed=${String(r.listedSample)}` : ''}`
}

async function identities (dataDir: string): Promise<Map<string, string>> {
  const store = await NetworkStore.open({ dataDir })
  try {
    const out = new Map<string, string>()
    for await (const item of store.items()) {
      const r = item.record as Record<string, any>
      // the hashes the set digest sums
      const id = (item.kind === 'n' ? networkHash(item.record) : negativeHash(item.record)).toString('hex')
      out.set(id, describe(item.kind, r))
    }
    return out
  } finally {
    await store.close()
  }
}

/** up to `max` lines: "only in A: …" and "only in B: …" */
export async function replicaDifference (a: string, b: string, max = 20): Promise<string> {
  const [ia, ib] = await Promise.all([identities(a), identities(b)])
  const lines: string[] = []
  for (const [id, text] of ia) if (!ib.has(id)) lines.push(`only in A: ${text}`)
  for (const [id, text] of ib) if (!ia.has(id)) lines.push(`only in B: ${text}`)
  return lines.length === 0 ? 'no difference by identity' : `${lines.slice(0, max).join('\n')}${lines.length > max ? `\n… ${lines.length - max} more` : ''}`
}
