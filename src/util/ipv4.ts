/**
 * IPv4 addresses as unsigned 32-bit integers (0 … 2^32-1), inclusive ranges, CIDR helpers.
 * Everything in whoismesh keeps addresses as numbers; strings exist only at the edges.
 */

export const MAX_IPV4 = 0xffffffff

export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError'
}

/**
 * Parses dotted-quad IPv4 text. Accepts registry oddities: zero-padded octets ("108.000.000.000")
 * and surrounding white space. Rejects anything else.
 */
export function parseIPv4 (text: string): number {
  const n = tryParseIPv4(text)
  if (n === undefined) throw new InvalidAddressError(`not an IPv4 address: "${text}"`)
  return n
}

/**
 * Like parseIPv4 but returns undefined instead of throwing. One pass over the characters, no
 * regular expression and no exception: delegation files and dumps feed it hundreds of thousands
 * of addresses at a time.
 */
export function tryParseIPv4 (text: string): number | undefined {
  const s = text.trim()
  let n = 0
  let octets = 0
  let value = 0
  let digits = 0
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46 // the end closes the last octet like a '.'
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined
      value = value * 10 + (c - 48)
    } else if (c === 46) {
      if (digits === 0 || value > 255 || ++octets > 4) return undefined
      n = n * 256 + value
      value = 0
      digits = 0
    } else {
      return undefined
    }
  }
  return octets === 4 ? n : undefined
}

export function formatIPv4 (n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

/** Number of addresses in the inclusive range [start, end]. */
export function rangeSize (start: number, end: number): number {
  return end - start + 1
}

/** First and last address of a prefix. */
export function prefixRange (base: number, prefixLength: number): { start: number, end: number } {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new InvalidAddressError(`bad prefix length: ${prefixLength}`)
  }
  const size = 2 ** (32 - prefixLength)
  const start = base - (base % size)
  return { start, end: start + size - 1 }
}

/**
 * Parses a CIDR such as "1.2.3.0/24", also the abbreviated forms LACNIC writes ("200.57.128/19",
 * "10/8"): missing trailing octets are zero. The base is masked to the prefix.
 */
export function parseCidr (text: string): { start: number, end: number, prefixLength: number } {
  const m = /^\s*([\d.]+)\/(\d{1,2})\s*$/.exec(text)
  if (m == null) throw new InvalidAddressError(`not an IPv4 CIDR: "${text}"`)
  const octets = m[1].split('.').filter(o => o !== '')
  if (octets.length < 1 || octets.length > 4) throw new InvalidAddressError(`not an IPv4 CIDR: "${text}"`)
  while (octets.length < 4) octets.push('0')
  const base = parseIPv4(octets.join('.'))
  const prefixLength = Number(m[2])
  if (prefixLength > 32) throw new InvalidAddressError(`not an IPv4 CIDR: "${text}"`)
  return { ...prefixRange(base, prefixLength), prefixLength }
}

/**
 * The smallest list of CIDR blocks that exactly covers [start, end]: greedily the largest aligned
 * block at the current start that does not pass the end. ip-num has no such decomposition (its
 * RangedSet.toCidrRange takes only a range that is one block already); test/util/ipv4.test.ts
 * checks the blocks against ip-num.
 */
export function rangeToCidrs (start: number, end: number): string[] {
  return rangeToBlocks(start, end).map(b => `${formatIPv4(b.start)}/${b.prefixLength}`)
}

/** rangeToCidrs as numeric ranges, in address order. */
export function rangeToBlocks (start: number, end: number): Array<{ start: number, end: number, prefixLength: number }> {
  if (start > end) throw new InvalidAddressError(`range start ${formatIPv4(start)} is after end ${formatIPv4(end)}`)
  const out: Array<{ start: number, end: number, prefixLength: number }> = []
  let cur = start
  while (cur <= end) {
    let size = 1
    let prefixLength = 32
    while (prefixLength > 0) {
      const next = size * 2
      if (cur % next !== 0 || cur + next - 1 > end) break
      size = next
      prefixLength--
    }
    out.push({ start: cur, end: cur + size - 1, prefixLength })
    cur += size
  }
  return out
}

/** The /8 (first octet) of an address. */
export function firstOctet (n: number): number {
  return n >>> 24
}
