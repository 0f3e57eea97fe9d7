/**
 * The node's libp2p identity, kept in its data directory (`peer.key`, protobuf-encoded Ed25519
 * private key, mode 0600) so the peer id survives restarts and `whoismesh id` can print it
 * before the node first starts.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey, PeerId } from '@libp2p/interface'
import { UserError } from '../util/errors.js'

export const PEER_KEY_FILE = 'peer.key'

/** The node key stored in `dataDir`, undefined when there is none. */
async function readPeerKey (dataDir: string): Promise<PrivateKey | undefined> {
  const file = join(dataDir, PEER_KEY_FILE)
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (err: any) {
    if (err.code === 'ENOENT') return undefined
    throw new UserError(`cannot read the node key ${file}: ${err.code ?? err.message}`)
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err: any) {
    throw new UserError(`the node key ${file} is damaged (${err.message}); move it aside to get a new peer id`)
  }
}

/** Loads the node key from `dataDir`, creating it (and the directory) when there is none. */
export async function loadOrCreatePeerKey (dataDir: string): Promise<{ privateKey: PrivateKey, peerId: PeerId, created: boolean }> {
  const stored = await readPeerKey(dataDir)
  if (stored !== undefined) return { privateKey: stored, peerId: peerIdFromPrivateKey(stored), created: false }
  const file = join(dataDir, PEER_KEY_FILE)
  const privateKey = await generateKeyPair('Ed25519')
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    const tmp = `${file}.${process.pid}.tmp`
    await writeFile(tmp, privateKeyToProtobuf(privateKey), { mode: 0o600 })
    await rename(tmp, file)
  } catch (err: any) {
    throw new UserError(`cannot write the node key ${file}: ${err.code ?? err.message}`)
  }
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), created: true }
}

/** The peer id of the node key in `dataDir`, undefined when there is none (nothing is created). */
export async function existingPeerId (dataDir: string): Promise<string | undefined> {
  const key = await readPeerKey(dataDir)
  return key === undefined ? undefined : peerIdFromPrivateKey(key).toString()
}
