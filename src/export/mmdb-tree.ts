/**
 * The binary search tree of a MaxMind DB file: MaxMind DB File Format Specification v2.0
 * (https://maxmind.github.io/MaxMind-DB/), "Binary Search Tree Section".
 *
 * Each node has two records, taken for a 0 bit and for a 1 bit of the address, most significant bit
 * first ("Search Lookup Algorithm"). A record is a node number (below the node count), the node
 * count itself (no data), or a pointer into the data section: node count + 16 + the offset in the
 * data section (the 16 is the "Data Section Separator"). The top node is node 0.
 *
 * The tree is an IPv6 tree ("ip_version" 6) holding the IPv4 space as MaxMind's own databases do
 * ("IPv4 addresses in an IPv6 tree"): IPv4 a.b.c.d is ::a.b.c.d, 96 zero bits then the address,
 * where every reader starts an IPv4 lookup; and ::ffff:0:0/96 (IPv4-mapped addresses, as a
 * dual-stack server logs its IPv4 clients) and 2002::/16 (6to4) lead to the same IPv4 subtree.
 *
 * While it is built, a record is 0 (empty: the root is never a child), a positive node id, or
 * −(row + 1) for the data of row `row`; `serialize` numbers the nodes still reachable and turns
 * rows into data-section pointers.
 */
import { ExportLimitError } from './errors.js'

const EMPTY = 0

export class SearchTree {
  private left = new Int32Array(1 << 16)
  private right = new Int32Array(1 << 16)
  private count = 0
  /** the node at ::/96, where IPv4 addresses start */
  readonly ipv4Root: number

  constructor () {
    const root = this.newNode()
    let node = root
    // ::/96: 96 zero bits from the root
    for (let depth = 0; depth < 95; depth++) node = this.child(node, 0, true)
    this.ipv4Root = this.newNode()
    this.left[node] = this.ipv4Root
  }

  /** nodes allocated, reachable or not (for memory reports) */
  get allocated (): number { return this.count }

  private newNode (): number {
    if (this.count === this.left.length) {
      if (this.count >= 2 ** 31 - 1) throw new ExportLimitError('the MMDB search tree would exceed 2^31 nodes')
      const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => { const b = new Int32Array(a.length * 2); b.set(a); return b }
      this.left = grow(this.left)
      this.right = grow(this.right)
    }
    const id = this.count++
    this.left[id] = EMPTY
    this.right[id] = EMPTY
    return id
  }

  /** the node below `node` on `bit`, made (holding what the record held, on both sides) when `make` */
  private child (node: number, bit: number, make: boolean): number {
    const rec = bit === 0 ? this.left[node] : this.right[node]
    if (rec > 0 || !make) return rec
    const n = this.newNode()
    // a record that held data (a larger network) or nothing: both halves hold what it held
    this.left[n] = rec
    this.right[n] = rec
    if (bit === 0) this.left[node] = n
    else this.right[node] = n
    return n
  }

  /**
   * Sets the prefix `base`/`length` of the IPv4 space to the data of `row`, over whatever it held:
   * its more specific parts too. Callers insert larger networks first, so that a more specific
   * network, inserted later, wins where it lies ("most specific" as `whoismesh lookup` answers).
   */
  insertIPv4 (base: number, length: number, row: number): void {
    if (length === 0) {
      // all of IPv4: both halves below the IPv4 root (a reader reports prefix length 97, not 96)
      this.left[this.ipv4Root] = -(row + 1)
      this.right[this.ipv4Root] = -(row + 1)
      return
    }
    let node = this.ipv4Root
    for (let depth = 0; depth < length - 1; depth++) node = this.child(node, (base >>> (31 - depth)) & 1, true)
    if (((base >>> (32 - length)) & 1) === 0) this.left[node] = -(row + 1)
    else this.right[node] = -(row + 1)
  }

  /**
   * Makes the IPv6 prefix given by its leading bits lead to the IPv4 subtree: `bits` is the prefix
   * as a string of 0s and 1s (e.g. 80 zeros then 16 ones for ::ffff:0:0/96).
   */
  alias (bits: string): void {
    let node = 0
    for (let i = 0; i < bits.length - 1; i++) {
      const next = this.child(node, Number(bits[i]), true)
      if (next === this.ipv4Root) throw new Error(`alias ${bits} lies inside the IPv4 subtree`)
      node = next
    }
    if (bits[bits.length - 1] === '0') this.left[node] = this.ipv4Root
    else this.right[node] = this.ipv4Root
  }

  /**
   * The tree section ("Binary Search Tree Section"): the nodes reachable from node 0, numbered in
   * breadth-first order, each two records of the smallest record size that holds every record
   * value ("Node Layout"), or `minRecordSize` if larger. `dataOffset(row)` is the offset of a
   * row's map in a data section of `dataSize` bytes.
   */
  serialize (dataSize: number, dataOffset: (row: number) => number, minRecordSize: 24 | 28 | 32 = 24): { bytes: Buffer, nodeCount: number, recordSize: 24 | 28 | 32 } {
    const order = this.reachable()
    const nodeCount = order.length
    // the largest record value: a pointer to the end of the data section ("Search Lookup Algorithm")
    const recordSize = Math.max(minRecordSize, recordSizeFor(nodeCount + 16 + dataSize)) as 24 | 28 | 32
    const id = new Int32Array(this.count).fill(-1)
    for (let i = 0; i < nodeCount; i++) id[order[i]] = i
    const value = (rec: number): number => rec > 0 ? id[rec] : rec === EMPTY ? nodeCount : nodeCount + 16 + dataOffset(-rec - 1)
    const nodeBytes = recordSize / 4
    const bytes = Buffer.alloc(nodeCount * nodeBytes)
    for (let i = 0; i < nodeCount; i++) {
      const l = value(this.left[order[i]])
      const r = value(this.right[order[i]])
      const at = i * nodeBytes
      if (recordSize === 24) {
        bytes.writeUIntBE(l, at, 3)
        bytes.writeUIntBE(r, at + 3, 3)
      } else if (recordSize === 28) {
        // | 23 .. 0 | 27..24 | 27..24 | 23 .. 0 |: the high four bits of both in the middle byte
        bytes.writeUIntBE(l % 2 ** 24, at, 3)
        bytes[at + 3] = (Math.floor(l / 2 ** 24) << 4) | Math.floor(r / 2 ** 24)
        bytes.writeUIntBE(r % 2 ** 24, at + 4, 3)
      } else {
        bytes.writeUInt32BE(l, at)
        bytes.writeUInt32BE(r, at + 4)
      }
    }
    return { bytes, nodeCount, recordSize }
  }

  /** Node ids reachable from node 0, breadth first; each once (aliases share the IPv4 subtree). */
  private reachable (): Int32Array {
    const seen = new Uint8Array(this.count)
    const order = new Int32Array(this.count)
    let n = 0
    order[n++] = 0
    seen[0] = 1
    const visit = (rec: number): void => {
      if (rec > 0 && seen[rec] === 0) {
        seen[rec] = 1
        order[n++] = rec
      }
    }
    for (let k = 0; k < n; k++) {
      visit(this.left[order[k]])
      visit(this.right[order[k]])
    }
    return order.subarray(0, n)
  }
}

/** The smallest record size (bits) whose records can hold `maxValue` ("Node Layout": 24, 28, 32). */
export function recordSizeFor (maxValue: number): 24 | 28 | 32 {
  if (maxValue < 2 ** 24) return 24
  if (maxValue < 2 ** 28) return 28
  if (maxValue < 2 ** 32) return 32
  throw new ExportLimitError('the MMDB file would need records over 32 bits (a data section over 4 GiB): narrow the export with --registry or --since')
}

/** IPv6 prefixes aliased to the IPv4 subtree, as bit strings: ::ffff:0:0/96 and 2002::/16. */
export const IPV4_ALIASES = {
  ipv4Mapped: '0'.repeat(80) + '1'.repeat(16),
  sixToFour: '0010000000000010'
} as const
