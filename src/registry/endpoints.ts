/**
 * Where each registry answers. By default the real RIRs; `--registries FILE` replaces them with
 * the hosts/ports in a JSON file such as the one `whoismesh sim --registries-out FILE` writes:
 *
 * ```json
 * {
 *   "version": 1,
 *   "registries": {
 *     "arin": { "rdap": "http://127.0.0.1:41001/", "whois": "127.0.0.1:41002", "budgetPerSecond": 200,
 *               "delegations": "http://127.0.0.1:41000/delegated-arin-extended-latest" },
 *     "ripe": { …, "bulk": { "files": ["http://127.0.0.1:41000/dumps/ripe.db.inetnum.gz",
 *                                      "http://127.0.0.1:41000/dumps/ripe.db.organisation.gz"],
 *                            "serial": "http://127.0.0.1:41000/dumps/RIPE.CURRENTSERIAL" } },
 *     "apnic": { … }, "lacnic": { … }, "afrinic": { … }
 *   },
 *   "stats": "http://127.0.0.1:41000/stats"
 * }
 * ```
 * `budgetPerSecond` is optional: the budget the registry enforces for all clients together; a node
 * uses it when no `--budget` is given for that registry. `delegations` is optional: where the
 * registry's delegation file is (src/registry/delegations.ts; without it, the addresses of that
 * registry's /8s go to it first). `bulk` is optional: the registry's database dump files and its
 * serial file (src/bulk/; `node start --bulk auto` imports them). `stats` is optional (simulator only).
 */
import { readFile } from 'node:fs/promises'
import { REGISTRY_IDS, isRegistryId, type RegistryEndpoint, type RegistryEndpoints, type RegistryId } from './interface.js'

export class RegistriesFileError extends Error {
  override readonly name = 'RegistriesFileError'
}

/** The real registries (RDAP bases as in IANA's bootstrap file; WHOIS on port 43). */
export const REAL_REGISTRY_ENDPOINTS: RegistryEndpoints = {
  arin: { rdapBaseUrl: 'https://rdap.arin.net/registry/', whoisHost: 'whois.arin.net', whoisPort: 43 },
  ripe: { rdapBaseUrl: 'https://rdap.db.ripe.net/', whoisHost: 'whois.ripe.net', whoisPort: 43 },
  apnic: { rdapBaseUrl: 'https://rdap.apnic.net/', whoisHost: 'whois.apnic.net', whoisPort: 43 },
  lacnic: { rdapBaseUrl: 'https://rdap.lacnic.net/rdap/', whoisHost: 'whois.lacnic.net', whoisPort: 43 },
  afrinic: { rdapBaseUrl: 'https://rdap.afrinic.net/rdap/', whoisHost: 'whois.afrinic.net', whoisPort: 43 }
}

export interface RegistriesFile {
  version: 1
  registries: Record<RegistryId, { rdap: string, whois: string, budgetPerSecond?: number, delegations?: string, bulk?: BulkSource }>
  stats?: string
}

/** Where a registry publishes its database dump: the files (gzip RPSL) and the serial file. */
export interface BulkSource {
  files: string[]
  serial: string
}

/**
 * The dumps the real registries publish (docs/simulator.md "Bulk dumps" cites each): RIPE NCC and
 * APNIC split by object class, AFRINIC in one file. ARIN and LACNIC publish bulk data only under
 * an agreement: an operator who has such a file imports it with `whoismesh import`.
 */
export const REAL_BULK_SOURCES: Partial<Record<RegistryId, BulkSource>> = {
  ripe: {
    files: ['https://ftp.ripe.net/ripe/dbase/split/ripe.db.inetnum.gz', 'https://ftp.ripe.net/ripe/dbase/split/ripe.db.organisation.gz'],
    serial: 'https://ftp.ripe.net/ripe/dbase/RIPE.CURRENTSERIAL'
  },
  apnic: {
    files: ['https://ftp.apnic.net/apnic/whois/apnic.db.inetnum.gz', 'https://ftp.apnic.net/apnic/whois/apnic.db.organisation.gz'],
    serial: 'https://ftp.apnic.net/apnic/whois/APNIC.CURRENTSERIAL'
  },
  afrinic: {
    files: ['https://ftp.afrinic.net/pub/dbase/afrinic.db.gz'],
    serial: 'https://ftp.afrinic.net/pub/dbase/AFRINIC.CURRENTSERIAL'
  }
}

export interface LoadedRegistries {
  endpoints: RegistryEndpoints
  /** budgets the file declares (requests per second), per registry */
  budgets: Partial<Record<RegistryId, number>>
  /** where each registry's delegation file is, for those the file names */
  delegationUrls: Partial<Record<RegistryId, string>>
  /** where each registry's database dump is, for those the file names */
  bulkSources: Partial<Record<RegistryId, BulkSource>>
  statsUrl?: string
}

/** Validates a parsed registries file; every error names the bad field. */
export function parseRegistriesFile (data: unknown, source = 'registries file'): LoadedRegistries {
  const fail = (msg: string): never => { throw new RegistriesFileError(`${source}: ${msg}`) }
  if (data == null || typeof data !== 'object') fail('not a JSON object')
  const obj = data as Record<string, unknown>
  const regs = obj.registries
  if (regs == null || typeof regs !== 'object') fail('missing "registries" object')
  const endpoints: Partial<RegistryEndpoints> = {}
  const budgets: Partial<Record<RegistryId, number>> = {}
  const delegationUrls: Partial<Record<RegistryId, string>> = {}
  const bulkSources: Partial<Record<RegistryId, BulkSource>> = {}
  const isUrl = (v: unknown): v is string => typeof v === 'string' && /^https?:\/\/[^/]+/.test(v)
  for (const key of Object.keys(regs as object)) {
    if (!isRegistryId(key)) fail(`unknown registry "${key}" (expected one of ${REGISTRY_IDS.join(', ')})`)
  }
  for (const id of REGISTRY_IDS) {
    const r = (regs as Record<string, unknown>)[id] as Record<string, unknown> | undefined
    if (r == null || typeof r !== 'object') fail(`registries.${id} is missing`)
    const rdap = r!.rdap
    if (typeof rdap !== 'string' || !/^https?:\/\/[^/]+/.test(rdap)) fail(`registries.${id}.rdap must be an http(s) URL`)
    const whois = r!.whois
    const m = typeof whois === 'string' ? /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(whois) : null
    if (m == null || Number(m[2]) < 1 || Number(m[2]) > 65535) fail(`registries.${id}.whois must be "host:port"`)
    const budget = r!.budgetPerSecond
    if (budget !== undefined) {
      if (typeof budget !== 'number' || !Number.isFinite(budget) || budget <= 0) fail(`registries.${id}.budgetPerSecond must be a positive number`)
      budgets[id] = budget as number
    }
    const delegations = r!.delegations
    if (delegations !== undefined) {
      if (typeof delegations !== 'string' || !/^https?:\/\/[^/]+/.test(delegations)) fail(`registries.${id}.delegations must be an http(s) URL`)
      delegationUrls[id] = delegations as string
    }
    const bulk = r!.bulk as Record<string, unknown> | undefined
    if (bulk !== undefined) {
      if (bulk === null || typeof bulk !== 'object' || !Array.isArray(bulk.files) || bulk.files.length === 0 || !bulk.files.every(isUrl)) fail(`registries.${id}.bulk.files must be a list of http(s) URLs`)
      if (!isUrl(bulk.serial)) fail(`registries.${id}.bulk.serial must be an http(s) URL`)
      bulkSources[id] = { files: [...(bulk.files as string[])], serial: bulk.serial as string }
    }
    endpoints[id] = {
      rdapBaseUrl: (rdap as string).endsWith('/') ? rdap as string : `${rdap as string}/`,
      whoisHost: m![1].replace(/^\[|\]$/g, ''),
      whoisPort: Number(m![2])
    } satisfies RegistryEndpoint
  }
  const stats = obj.stats
  if (stats !== undefined && typeof stats !== 'string') fail('"stats" must be a URL string')
  return { endpoints: endpoints as RegistryEndpoints, budgets, delegationUrls, bulkSources, statsUrl: stats as string | undefined }
}

export async function loadRegistriesFile (path: string): Promise<LoadedRegistries> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err: any) {
    throw new RegistriesFileError(`cannot read registries file ${path}: ${err.code ?? err.message}`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err: any) {
    throw new RegistriesFileError(`registries file ${path} is not valid JSON: ${err.message}`)
  }
  return parseRegistriesFile(data, `registries file ${path}`)
}

/** Which registry an RDAP URL belongs to (for following redirects), by base-URL prefix. */
export function registryOfRdapUrl (url: string, endpoints: RegistryEndpoints): RegistryId | undefined {
  for (const id of REGISTRY_IDS) {
    if (url.startsWith(endpoints[id].rdapBaseUrl)) return id
  }
  // Real registries also redirect to their http:// or host-only forms; compare origins.
  let origin: string
  try { origin = new URL(url).host } catch { return undefined }
  for (const id of REGISTRY_IDS) {
    if (new URL(endpoints[id].rdapBaseUrl).host === origin) return id
  }
  return undefined
}
