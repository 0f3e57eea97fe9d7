/** Parsers for command-line values: each names the flag in its error. */
import { InvalidArgumentError } from 'commander'
import { parseIPv4 } from '../util/ipv4.js'
import { SAMPLE_SIZE } from '../sample/index.js'

export function positiveInt (flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${flag} takes a whole number, got "${value}"`)
    const n = Number(value)
    if (n < 1 || n > max) throw new InvalidArgumentError(`${flag} must be between 1 and ${max}, got ${value}`)
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

/** "2024-01-31", "2024-01-31T12:00:00Z" or a ms timestamp → ms since epoch. */
export function sinceArgument (value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`--since takes a date such as 2026-11-27 or 2026-11-27T12:00:00Z, got "${value}"`)
  return n
}
