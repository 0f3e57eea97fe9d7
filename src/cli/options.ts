/** Parsers for command-line values: each names the flag in its error. */
import { isIP } from 'node:net'
import { InvalidArgumentError } from 'commander'
import { parseIPv4 } from '../util/ipv4.js'
import { SAMPLE_SIZE } from '../sample/index.js'
import { UserError } from '../util/errors.js'

export function positiveInt (flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${flag} takes a whole number, got "${value}"`)
    const n = Number(value)
    if (n < 1 || n > max) throw new InvalidArgumentError(`${flag} must be between 1 and ${max}, got ${value}`)
    return n
  }
}

export function nonNegativeInt (flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${flag} takes a whole number, got "${value}"`)
    const n = Number(value)
    if (n > max) throw new InvalidArgumentError(`${flag} must be between 0 and ${max}, got ${value}`)
    return n
  }
}

export const sampleLimit = positiveInt('--sample-limit', SAMPLE_SIZE)

export function port (flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) > 65535) throw new InvalidArgumentError(`${flag} takes a port number 0–65535, got "${value}"`)
    return Number(value)
  }
}

/**
 * `[ADDR:]PORT` → where a service listens: PORT alone is loopback (127.0.0.1), so a service is
 * open to other machines only when an address says so (`0.0.0.0:4343`). IPv6 as `[::1]:4343`.
 */
export function listenAddress (flag: string) {
  return (value: string): { host: string, port: number } => {
    const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(value.trim())
    if (m === null || Number(m[2]) > 65535) throw new InvalidArgumentError(`${flag} takes [ADDR:]PORT, e.g. 4343, 127.0.0.1:4343 or 0.0.0.0:4343, got "${value}"`)
    const host = m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '')
    if (m[1] !== undefined && !isIP(host)) throw new InvalidArgumentError(`${flag}: "${m[1]}" is not an IP address (give one the machine has, or 0.0.0.0 for all)`)
    return { host, port: Number(m[2]) }
  }
}

export function nonNegativeNumber (flag: string, max = Infinity) {
  return (value: string): number => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) throw new InvalidArgumentError(`${flag} takes a number from 0 to ${max}, got "${value}"`)
    return n
  }
}

export function ipv4Argument (value: string): number {
  try {
    return parseIPv4(value)
  } catch {
    throw new InvalidArgumentError(`"${value}" is not an IPv4 address`)
  }
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/

/**
 * "2024-01-31" (UTC midnight), "2024-01-31T12:00:00Z", "2024-01-31T12:00+02:00" (no zone: local
 * time) or a ms timestamp → ms since epoch. Only ISO 8601 forms: Date.parse alone would take
 * "March 7" or "-5" and silently pick a year.
 */
export function sinceArgument (value: string): number {
  const bad = (): never => { throw new InvalidArgumentError(`--since takes a date such as 2026-11-27 or 2026-11-27T12:00:00Z, got "${value}"`) }
  if (/^\d+$/.test(value)) {
    const n = Number(value)
    return Number.isSafeInteger(n) ? n : bad()
  }
  const m = ISO_DATE.exec(value)
  if (m == null) return bad()
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number)
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return bad()
  const n = Date.parse(value.replace(' ', 'T'))
  return Number.isFinite(n) ? n : bad()
}

/** Runs the budget parser, naming the flag in its error (used by `sim` too). */
export function budgetFlag<T> (parse: () => T): T {
  try {
    return parse()
  } catch (err: any) {
    if (err?.name === 'BudgetParseError') throw new UserError(`--budget: ${String(err.message)}`)
    throw err
  }
}
