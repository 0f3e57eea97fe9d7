/**
 * The fleet's private-network key (libp2p pnet, the go-ipfs `swarm.key` format):
 *
 *     /key/swarm/psk/1.0.0/
 *     /base16/
 *     <64 hex digits>
 *
 * With a key, every connection is wrapped in XSalsa20 keyed by it before anything else is said,
 * so a peer without the same key cannot complete a handshake with any fleet member.
 */
import { readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { preSharedKey } from '@libp2p/pnet'
import type { ConnectionProtector } from '@libp2p/interface'
import { UserError } from '../util/errors.js'

const HEADER = '/key/swarm/psk/1.0.0/'
const CODEC = '/base16/'

/** A new key in the file format (ends with a newline). */
export function generateSwarmKey (): string {
  return `${HEADER}\n${CODEC}\n${randomBytes(32).toString('hex')}\n`
}

/** Parses a key file's text; throws UserError naming `source` when it is not a valid key. */
export function parseSwarmKey (text: string, source: string): Uint8Array {
  const lines = text.split(/\r?\n/).map(l => l.trim()).filter(l => l !== '')
  if (lines.length !== 3 || lines[0] !== HEADER || lines[1] !== CODEC || !/^[0-9a-fA-F]{64}$/.test(lines[2])) {
    throw new UserError(`${source} is not a swarm key: expected the three lines "${HEADER}", "${CODEC}" and 64 hex digits (make one with \`whoismesh swarm-key\`)`)
  }
  return new TextEncoder().encode(`${HEADER}\n${CODEC}\n${lines[2].toLowerCase()}`)
}

/** Reads and checks a key file. */
export async function loadSwarmKey (file: string): Promise<Uint8Array> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    throw new UserError(`cannot read the swarm key ${file}: ${err.code ?? err.message}`)
  }
  return parseSwarmKey(text, `the swarm key ${file}`)
}

/**
 * The libp2p connection protector for a key. The nonce exchange gets 5 s (pnet's default is 1 s,
 * short for a loaded 2-core host accepting a burst of peers).
 */
export function swarmProtector (psk: Uint8Array): () => ConnectionProtector {
  return preSharedKey({ psk, timeout: 5000 })
}
