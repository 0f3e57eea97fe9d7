/**
 * `whoismesh distrust [PEER...]`: the node refuses everything those peers authored (provenance,
 * NetworkRecord.author) — what it holds is deleted and the sample addresses it resolved are
 * crawled again; `--undo` trusts them again. Without peers: the distrusted peers, one per line.
 * Works on a stopped node's data directory or, through its control endpoint, on a running node
 * (which also stops counting the peers as members of the fleet). Run it on every node of a fleet
 * (ansible/distrust.yml): each node keeps its own list.
 */
import { isPeerIdText } from '../../record/index.js'
import type { DistrustResult } from '../../store/index.js'
import { callControl } from '../../node/control.js'
import { existingPeerId } from '../../mesh/keys.js'
import { UserError } from '../errors.js'
import { withStore } from './read.js'

export async function runDistrust (peers: string[], o: { data: string, undo?: boolean }): Promise<void> {
  for (const p of peers) if (!isPeerIdText(p)) throw new UserError(`"${String(p).slice(0, 64)}" is not a peer id (the first line \`whoismesh id\` prints on that node, or a "peerId" of this node's logs)`)
  if (peers.length === 0) {
    if (o.undo === true) throw new UserError('--undo needs the peers to trust again')
    const list = await withStore(o.data, async store => store.distrusted(), async () => await callControl(o.data, '/v1/distrusted', {}) as string[])
    process.stdout.write(list.map(p => p + '\n').join(''))
    return
  }
  const self = await existingPeerId(o.data)
  if (self !== undefined && peers.includes(self)) throw new UserError(`${self} is the peer id of the node on ${o.data} itself`)
  const undo = o.undo === true
  const res = await withStore<DistrustResult>(o.data,
    async store => await store.distrust(peers, undo),
    async () => await callControl(o.data, '/v1/distrust', { peer: peers, undo: undo ? '1' : undefined }, undefined, 'POST') as DistrustResult)
  const who = peers.join(', ')
  process.stdout.write(undo
    ? `trusted again: ${who} (their records come back only by sync or a new crawl)\n`
    : `distrusted: ${who}; dropped ${res.droppedNetworks} networks and ${res.droppedNegatives} address notes they authored (the sample addresses those resolved are crawled again)\n`)
}
