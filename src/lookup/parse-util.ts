/**
 * Small helpers shared by the RDAP and WHOIS parsers: line splitting, "key: value" objects,
 * dates, country codes and the registries' WHOIS host names.
 */
import { REAL_REGISTRY_ENDPOINTS } from '../registry/endpoints.js'
import { REGISTRY_IDS, type RegistryId } from '../registry/interface.js'
import { formatIPv4, parseCidr, tryParseIPv4 } from '../util/ipv4.js'

/** Splits text on LF, CRLF, CR CR LF and lone CR (old Mac, or a stray CR at the very end). */
export function splitLines (text: string): string[] {
  return text.split(/\r*\n|\r/)
}

/** One "key: value" line; `key` is lower-cased, `value` trimmed. */
export interface Attr {
  key: string
  value: string
}

/** A run of "key: value" lines between blank or comment lines (an RPSL object, an ARIN block). */
export interface TextObject {
  attrs: Attr[]
}

export interface WhoisText {
  objects: TextObject[]
  /** comment lines ('%' / '#', marker stripped) and free text that is not "key: value" */
  messages: string[]
  /**
   * false when the text ends inside an object (no blank or comment line after its last attribute)
   * or in the middle of a line that is not a comment. WHOIS has no length framing, so this is how
   * an answer cut short shows: every registry ends its last object with a blank line or a comment.
   */
  endsCleanly: boolean
}

const ATTR_LINE = /^([A-Za-z][A-Za-z0-9_-]*):(?:\s+(.*)|)$/

/**
 * Cuts WHOIS text into objects. Blank lines and comment lines (starting with '%' or '#') end an
 * object; a line starting with white space or '+' continues the previous attribute (RPSL);
 * anything else that is not "key: value" is kept as a message (ARIN's "No match found for …").
 */
export function parseWhoisText (text: string): WhoisText {
  const objects: TextObject[] = []
  const messages: string[] = []
  let current: Attr[] = []
  const close = (): void => {
    if (current.length > 0) objects.push({ attrs: current })
    current = []
  }
  const lines = splitLines(text)
  // what follows the last line break: '' when the text ends with one, else an unfinished line
  const unfinished = lines[lines.length - 1]
  const cutMidLine = unfinished !== '' && !unfinished.startsWith('%') && !unfinished.startsWith('#')
  if (unfinished === '') lines.pop() // the final line break ends a line, not an object
  for (const line of lines) {
    if (line.trim() === '') { close(); continue }
    if (line.startsWith('%') || line.startsWith('#')) {
      close()
      messages.push(line.slice(1).trim())
      continue
    }
    if (/^[ \t+]/.test(line) && current.length > 0) {
      const last = current[current.length - 1]
      const more = line.replace(/^\+/, '').trim()
      if (more !== '') last.value = last.value === '' ? more : `${last.value} ${more}`
      continue
    }
    const m = ATTR_LINE.exec(line.trim())
    if (m != null) {
      current.push({ key: m[1].toLowerCase(), value: (m[2] ?? '').trim() })
    } else {
      close()
      messages.push(line.trim())
    }
  }
  const openAtEnd = current.length > 0
  close()
  return { objects, messages, endsCleanly: !cutMidLine && !openAtEnd }
}

/** The first value of `key` in the object, '' if absent. */
export function attr (obj: TextObject, key: string): string {
  for (const a of obj.attrs) if (a.key === key) return a.value
  return ''
}

/** Every value of `key` in the object, in order. */
export function attrs (obj: TextObject, key: string): string[] {
  return obj.attrs.filter(a => a.key === key).map(a => a.value)
}

export function hasAttr (obj: TextObject, key: string): boolean {
  return obj.attrs.some(a => a.key === key)
}

/** The object's class: its first key ("inetnum", "organisation", "netrange", …). */
export function objectClass (obj: TextObject): string {
  return obj.attrs[0]?.key ?? ''
}

/** Drops an RPSL end-of-line comment: "RIPE # Filtered" → "RIPE", "EU # Country is …" → "EU". */
export function stripRpslComment (value: string): string {
  const i = value.indexOf('#')
  return (i >= 0 ? value.slice(0, i) : value).trim()
}

/**
 * Parses the range forms registries write: "a - b" (RPSL, ARIN NetRange), a CIDR ("1.2.3.0/24")
 * or LACNIC's abbreviated CIDR ("200.57.128/19"). Undefined when it is none of them.
 */
export function parseRangeText (text: string): { start: number, end: number, prefixLength?: number } | undefined {
  const s = text.trim()
  const dash = /^([\d.]+)\s*-\s*([\d.]+)$/.exec(s)
  if (dash != null) {
    const start = tryParseIPv4(dash[1])
    const end = tryParseIPv4(dash[2])
    if (start === undefined || end === undefined) return undefined
    return { start, end }
  }
  if (/^[\d.]+\/\d{1,2}$/.test(s)) {
    try {
      const c = parseCidr(s)
      return { start: c.start, end: c.end, prefixLength: c.prefixLength }
    } catch {
      return undefined
    }
  }
  return undefined
}

/** The RPSL key of an inetnum: "62.239.237.0 - 62.239.237.255" (single spaces, plain octets). */
export function formatRange (start: number, end: number): string {
  return `${formatIPv4(start)} - ${formatIPv4(end)}`
}

/**
 * Checks a list of CIDRs the registry gave against [start, end]: valid, aligned, not
 * overlapping and together exactly the range. Returns them sorted by address, or undefined when
 * they are not a consistent cover (the caller then computes its own with rangeToCidrs).
 */
export function consistentCidrs (blocks: Array<{ base: number, prefixLength: number }>, start: number, end: number): string[] | undefined {
  if (blocks.length === 0) return undefined
  const sorted = [...blocks].sort((a, b) => a.base - b.base)
  let next = start
  for (const b of sorted) {
    if (!Number.isInteger(b.prefixLength) || b.prefixLength < 0 || b.prefixLength > 32) return undefined
    const size = 2 ** (32 - b.prefixLength)
    if (b.base % size !== 0 || b.base !== next) return undefined
    next = b.base + size
  }
  if (next !== end + 1) return undefined
  return sorted.map(b => `${formatIPv4(b.base)}/${b.prefixLength}`)
}

/**
 * Normalises the dates registries write to ISO 8601 text: "2014-04-22" and full timestamps stay as
 * written, LACNIC's "20001204" becomes "2000-12-04", APNIC's old "changed: who@x 20021025" gives
 * its date. '' when there is no recognisable date.
 */
export function normaliseDate (text: string): string {
  const s = text.trim()
  const iso = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s)
  if (iso != null) return iso[2] === undefined ? iso[1] : `${iso[1]}T${iso[2]}${iso[3] ?? ''}`
  const compact = /(?:^|\s)(\d{4})(\d{2})(\d{2})$/.exec(s)
  if (compact != null) {
    const [, y, m, d] = compact
    if (Number(m) >= 1 && Number(m) <= 12 && Number(d) >= 1 && Number(d) <= 31) return `${y}-${m}-${d}`
  }
  return ''
}

/** "za" → "ZA"; anything that is not two letters → ''. */
export function normaliseCountry (text: string): string {
  const s = stripRpslComment(text).toUpperCase()
  return /^[A-Z]{2}$/.test(s) ? s : ''
}

let countryByName: Map<string, string> | undefined

/**
 * ISO 3166 alpha-2 code for an English country name ("UNITED STATES" → "US"), from the ICU data
 * Node ships with. Accepts a code as well. '' when unknown.
 */
export function countryCodeFromName (name: string): string {
  const s = name.trim().toUpperCase()
  if (/^[A-Z]{2}$/.test(s)) return s
  if (countryByName === undefined) {
    countryByName = new Map()
    const names = new Intl.DisplayNames(['en'], { type: 'region' })
    for (let a = 65; a <= 90; a++) {
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b)
        let n: string | undefined
        try { n = names.of(code) } catch { n = undefined }
        if (n !== undefined && n !== code) countryByName.set(n.toUpperCase(), code)
      }
    }
    // the names registries use that differ from ICU's
    countryByName.set('UNITED STATES OF AMERICA', 'US')
    countryByName.set('USA', 'US')
    countryByName.set('UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND', 'GB')
  }
  return countryByName.get(s) ?? ''
}

/** The registry a WHOIS host belongs to (the RIRs' own hosts and NIC.br's, which LACNIC delegates to). */
export function registryOfWhoisHost (host: string): RegistryId | undefined {
  const h = host.trim().toLowerCase().replace(/\.$/, '')
  for (const id of REGISTRY_IDS) {
    if (REAL_REGISTRY_ENDPOINTS[id].whoisHost === h) return id
  }
  if (h === 'whois.registro.br' || h === 'whois.nic.br') return 'lacnic'
  return undefined
}

/** Which registry a name in free text means: "AfriNIC" → afrinic, "RIPE NCC" → ripe, … */
export function registryOfName (name: string): RegistryId | undefined {
  const n = name.trim().toLowerCase()
  if (n.startsWith('ripe')) return 'ripe'
  if (n.startsWith('afrinic')) return 'afrinic'
  if (n.startsWith('apnic')) return 'apnic'
  if (n.startsWith('lacnic')) return 'lacnic'
  if (n.startsWith('arin')) return 'arin'
  return undefined
}

/**
 * Parses a WHOIS server reference: "whois://whois.ripe.net", "rwhois://rwhois.example.net:4321",
 * "whois.afrinic.net", "whois.arin.net:43". Undefined for web URLs and junk.
 */
export function parseServerRef (text: string): { scheme: 'whois' | 'rwhois', host: string, port?: number } | undefined {
  const m = /^(?:(r?whois):\/\/)?([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)(?::(\d{1,5}))?\/?$/i.exec(text.trim())
  if (m == null) return undefined
  const scheme = (m[1]?.toLowerCase() ?? 'whois') as 'whois' | 'rwhois'
  const port = m[3] === undefined ? undefined : Number(m[3])
  if (port !== undefined && (port < 1 || port > 65535)) return undefined
  return { scheme, host: m[2].toLowerCase(), port }
}
