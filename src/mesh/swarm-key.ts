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
import { createRequire } from 'node:module'
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
  fixXsalsa20MemoryGrowth()
  return preSharedKey({ psk, timeout: 5000 })
}

interface WasmXor { _memory: Uint8Array, realloc: (size: number) => void }
let xsalsa20Fixed = false

/**
 * pnet's cipher, xsalsa20 1.2.0, keeps one WebAssembly memory (640 KiB at first, 64 MiB at most)
 * for every cipher of the process, and each cipher a view of it. When one cipher grows the memory
 * (a write bigger than what is there: a sync frame, a large gossip message), the views of all the
 * others go stale (length 0), and each of them grows the memory again, by the size of its write,
 * on its next write. With two busy connections the memory grows on every write until it reaches
 * its maximum; the next write throws out of a socket listener and the process dies
 * ("WebAssembly.Memory.grow(): Maximum memory size exceeded"). Any holder of the swarm key can set
 * this off with one message of a few hundred KiB. Fixed upstream (libp2p/js-libp2p#3585, pnet xors
 * in bounded chunks); with the pnet pinned here, a stale view is refreshed (a grow by 0 pages)
 * before deciding whether the memory must grow. The keystream is unchanged (checked against
 * xsalsa20's pure-JS fallback).
 */
function fixXsalsa20MemoryGrowth (): void {
  if (xsalsa20Fixed) return
  xsalsa20Fixed = true
  let load: NodeRequire
  try {
    // the copy pnet itself loads
    load = createRequire(import.meta.resolve('@libp2p/pnet'))
  } catch {
    load = createRequire(import.meta.url)
  }
  const xsalsa20 = load('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => { _xor?: unknown, finalize: () => void }
  const probe = xsalsa20(new Uint8Array(24), new Uint8Array(32))
  const proto = probe._xor == null ? undefined : Object.getPrototypeOf(probe._xor) as WasmXor
  probe.finalize()
  if (proto == null || typeof proto.realloc !== 'function') return // the pure-JS cipher: nothing to fix
  const realloc = proto.realloc
  proto.realloc = function (this: WasmXor, size: number): void {
    realloc.call(this, this._memory.length) // grows by 0 pages: a fresh view of the memory as it is
    if (size >= this._memory.length) realloc.call(this, size)
  }
}
