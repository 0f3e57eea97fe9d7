import { loadOrCreatePeerKey } from '../../mesh/keys.js'

/** `whoismesh id`: the peer id on the first line, so scripts can compose bootstrap addresses. */
export async function runId (o: { data: string }): Promise<void> {
  const { peerId, created } = await loadOrCreatePeerKey(o.data)
  process.stdout.write(`${peerId.toString()}\n`)
  if (created) process.stderr.write(`whoismesh: created a new node key in ${o.data}\n`)
}
