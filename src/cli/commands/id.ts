import { writeFile } from 'node:fs/promises'
import { loadOrCreatePeerKey } from '../../mesh/keys.js'
import { generateSwarmKey } from '../../mesh/swarm-key.js'
import { UserError } from '../errors.js'

/** `whoismesh id`: the peer id on the first line, so scripts can compose bootstrap addresses. */
export async function runId (o: { data: string }): Promise<void> {
  const { peerId, created } = await loadOrCreatePeerKey(o.data)
  process.stdout.write(`${peerId.toString()}\n`)
  if (created) process.stderr.write(`whoismesh: created a new node key in ${o.data}\n`)
}

/** `whoismesh swarm-key [--out FILE]`: a new private-network key for a fleet. */
export async function runSwarmKey (o: { out?: string }): Promise<void> {
  const key = generateSwarmKey()
  if (o.out == null) { process.stdout.write(key); return }
  try {
    await writeFile(o.out, key, { mode: 0o600, flag: 'wx' })
  } catch (err: any) {
    if (err.code === 'EEXIST') throw new UserError(`${o.out} exists; a fleet's key must not change under it (remove the file first if you mean it)`)
    throw new UserError(`cannot write ${o.out}: ${err.code ?? err.message}`)
  }
}
