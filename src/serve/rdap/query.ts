/**
 * What an RDAP request asks, from its method-independent part: the path. RFC 9082 §3.1.1 (the
 * text of RFC 7482 §3.1.1, unchanged): `ip/<IP address>` or `ip/<CIDR prefix>/<CIDR length>`;
 * "the simpler form using the address can be thought of as a CIDR block with a bitmask length of
 * 32 for IPv4", and the query "targets the 'most-specific' or smallest IP network that completely
 * encompasses it". RFC 9083 §7: `/help`.
 *
 * Strict where RFC 9082 is: an address is RFC 3986 §3.2.2's IPv4address (dec-octets, no leading
 * zeros: "010" could be read as octal or decimal, so it is refused, not guessed), a length 0–32
 * without leading zeros. A prefix with host bits set ("192.0.2.5/24") is refused (400), naming
 * the block it may have meant: it is no CIDR block (RFC 4632 §3.1), and answering for the masked
 * block would answer a question nobody asked.
 *
 * RFC 7480 §5.4: a query that cannot be parsed is a 400; "servers MUST return an HTTP 501 (Not
 * Implemented) response to inform clients of unsupported query types": the other RDAP lookups and
 * searches (RFC 9082 §3.1.2–3.2), and IPv6 addresses (whoismesh holds IPv4 only). Anything else is
 * no RDAP path: 404.
 */
import { formatIPv4 } from '../../util/ipv4.js'

export type RdapQuery =
  | { kind: 'ip', start: number, end: number, prefixLength: number, /** as asked: "a.b.c.d" or "a.b.c.d/n" */ text: string }
  | { kind: 'help' }
  /** 400 */
  | { kind: 'bad-request', description: string }
  /** 501 */
  | { kind: 'unsupported', description: string }
  /** 404: not an RDAP path at all */
  | { kind: 'no-such-path', path: string }

/** RFC 9082 §3.1.2–3.1.6 and §3.2 path segments, with `ip` (§3.1.1) and `help` (§3.1.6) handled. */
const OTHER_QUERY_TYPES = new Set(['autnum', 'domain', 'nameserver', 'entity', 'domains', 'nameservers', 'entities'])

/** dec-octet of RFC 3986 §3.2.2 */
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])'
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`)
const LENGTH = /^(?:3[0-2]|[12]?[0-9])$/

/** Longest path echoed back in a description (the rest is cut). */
const ECHO_MAX = 100

function echo (s: string): string {
  return s.length > ECHO_MAX ? `${s.slice(0, ECHO_MAX)}…` : s
}

/** Parses the path of a request target; the query string, if any, is ignored. */
export function parseRdapPath (target: string): RdapQuery {
  const q = target.indexOf('?')
  const rawPath = q === -1 ? target : target.slice(0, q)
  let path: string
  try {
    path = decodeURIComponent(rawPath)
  } catch {
    return { kind: 'bad-request', description: `the path "${echo(rawPath)}" is not valid percent-encoding` }
  }
  const segments = path.split('/')
  // segments[0] is '' (the path starts with '/')
  if (segments[0] !== '' || segments.length < 2) return { kind: 'no-such-path', path: echo(path) }
  const type = segments[1]
  if (type === 'help' && segments.length === 2) return { kind: 'help' }
  if (type === 'ip') return parseIpSegments(segments.slice(2))
  if (OTHER_QUERY_TYPES.has(type)) {
    return { kind: 'unsupported', description: `this server answers /ip queries only (RFC 9082 §3.1.1), not /${type}` }
  }
  return { kind: 'no-such-path', path: echo(path) }
}

function parseIpSegments (rest: string[]): RdapQuery {
  const text = rest.join('/')
  if (rest.length === 0 || rest.length > 2 || rest[0] === '') {
    return { kind: 'bad-request', description: `"/ip/${echo(text)}" is not /ip/<IPv4 address> or /ip/<CIDR prefix>/<CIDR length>` }
  }
  if (rest[0].includes(':')) {
    return { kind: 'unsupported', description: `"${echo(text)}" is an IPv6 query: this replica holds IPv4 networks only` }
  }
  if (!IPV4.test(rest[0])) {
    return { kind: 'bad-request', description: `"${echo(rest[0])}" is not an IPv4 address in dotted-decimal form (four numbers 0–255, no leading zeros)` }
  }
  const octets = rest[0].split('.').map(Number)
  const base = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3]
  if (rest.length === 1) return { kind: 'ip', start: base, end: base, prefixLength: 32, text: rest[0] }
  if (!LENGTH.test(rest[1])) {
    return { kind: 'bad-request', description: `"${echo(rest[1])}" is not a CIDR length (a number 0–32, no leading zeros)` }
  }
  const prefixLength = Number(rest[1])
  const size = 2 ** (32 - prefixLength)
  const start = base - (base % size)
  if (start !== base) {
    return {
      kind: 'bad-request',
      description: `${rest[0]}/${prefixLength} has host bits set: it is not a CIDR block; the block holding it is ${formatIPv4(start)}/${prefixLength}`
    }
  }
  return { kind: 'ip', start, end: start + size - 1, prefixLength, text: `${rest[0]}/${prefixLength}` }
}
