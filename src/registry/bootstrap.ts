/**
 * IANA's RDAP bootstrap file for IPv4 (RFC 9224, https://data.iana.org/rdap/ipv4.json) maps
 * prefixes to RDAP services. Against the real registries a node refreshes its /8 routing from it
 * when it can reach it, and keeps the built-in IANA table when it cannot.
 */
import { request } from 'undici'
import { REGISTRY_IDS, type RegistryId, type RegistryEndpoints } from './interface.js'
import { parseCidr } from '../util/ipv4.js'

export const IANA_RDAP_BOOTSTRAP_URL = 'https://data.iana.org/rdap/ipv4.json'

/**
 * Parses a bootstrap file into first-octet → registry for every /8 (or shorter prefix) whose
 * service URL belongs to one of the known registries. Longer prefixes are ignored: the table
 * routes by /8 and transfers are followed by redirect.
 */
export function parseRdapBootstrap (data: unknown, endpoints: RegistryEndpoints): Map<number, RegistryId> {
  const out = new Map<number, RegistryId>()
  const services = (data as { services?: unknown })?.services
  if (!Array.isArray(services)) throw new Error('bootstrap file has no "services" array')
  const hostToRegistry = new Map<string, RegistryId>()
  for (const id of REGISTRY_IDS) hostToRegistry.set(new URL(endpoints[id].rdapBaseUrl).host, id)
  for (const svc of services) {
    if (!Array.isArray(svc) || !Array.isArray(svc[0]) || !Array.isArray(svc[1])) continue
    let registry: RegistryId | undefined
    for (const url of svc[1]) {
      try { registry ??= hostToRegistry.get(new URL(String(url)).host) } catch { /* skip bad URL */ }
    }
    if (registry == null) continue
    for (const prefix of svc[0]) {
      let r: { start: number, end: number, prefixLength: number }
      try { r = parseCidr(String(prefix)) } catch { continue }
      if (r.prefixLength > 8) continue
      for (let octet = r.start >>> 24; octet <= (r.end >>> 24); octet++) out.set(octet, registry)
    }
  }
  return out
}

/** Fetches and parses the bootstrap file; resolves undefined when it cannot be had in time. */
export async function fetchRdapBootstrap (endpoints: RegistryEndpoints, opts: { url?: string, timeoutMs?: number, userAgent?: string } = {}): Promise<Map<number, RegistryId> | undefined> {
  try {
    const res = await request(opts.url ?? IANA_RDAP_BOOTSTRAP_URL, {
      headers: { accept: 'application/json', 'user-agent': opts.userAgent ?? 'whoismesh' },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000)
    })
    if (res.statusCode !== 200) { await res.body.dump(); return undefined }
    const text = await res.body.text()
    if (text.length > 1_000_000) return undefined
    return parseRdapBootstrap(JSON.parse(text), endpoints)
  } catch {
    return undefined
  }
}
