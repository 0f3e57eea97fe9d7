/**
 * Leaves and containers (issue 12). A *leaf* is an assignment that registry policy does not
 * subdivide further: a registry asked about any address inside it answers with it. A *container*
 * is everything else — an allocation, a sub-allocation, legacy space, or a word we do not know —
 * which may hold more specific networks that answer for parts of it.
 *
 * The class is a pure function of the record's `registry` and `type` (the registry's own status
 * or type word, as the parsers read it: RDAP `type`, ARIN WHOIS `NetType:`, RPSL and LACNIC
 * `status:`), so every node computes the same class from the same record and no field is added.
 * Words are matched case- and whitespace-insensitively ("Direct Assignment" = "DIRECT ASSIGNMENT").
 * Unknown or empty ⇒ container: the conservative answer, which at worst costs a lookup and never
 * claims an answer is exact when it may not be.
 *
 * Sources (docs/operating.md "Leaves and containers"):
 * - RIPE NCC: the `InetnumStatus` enum and its allowed parents, RIPE-NCC/whois
 *   whois-rpsl/src/main/java/net/ripe/db/whois/common/rpsl/attrs/InetnumStatus.java; AFRINIC runs a
 *   RIPE-derived database with the same words (https://v2.afrinic.net/en/faq/members?tag=assignment).
 * - APNIC: https://www.apnic.net/manage-ip/using-whois/updating-whois/network-assignments
 * - ARIN: NetType words in WHOIS and upper case in RDAP; reallocations are further delegated,
 *   reassignments are not (https://arin.net/resources/registry/reassignments).
 * - LACNIC: allocated / reallocated / assigned / reassigned ("About the WHOIS", LACNIC 2019,
 *   https://docslib.org/doc/3803295/about-the-whois-database); LACNIC RDAP writes "re-allocated"
 *   (test fixture lacnic-rdap-201.127.0.1.json); NIC.br RDAP writes "ALLOCATED" and "DIRECT
 *   ALLOCATION" (fixtures lacnic-rdap-177.0.0.0.json, lacnic-rdap-187.36.192.120.json), NIC.br
 *   WHOIS has no status at all. Real `reallocated` /29s exist, but by policy a reallocation may be
 *   subdivided, so it stays a container.
 */
import type { RegistryId } from '../registry/interface.js'

export type NetworkClass = 'leaf' | 'container'

export interface StatusVocabulary {
  /** words that mark an assignment policy does not subdivide */
  leaf: readonly string[]
  /** words known to mark something that may be subdivided (documentation: anything not a leaf is a container) */
  container: readonly string[]
}

const RIPE_STYLE: StatusVocabulary = {
  leaf: ['ASSIGNED PA', 'ASSIGNED PI', 'ASSIGNED ANYCAST', 'ALLOCATED-ASSIGNED PA'],
  container: ['ALLOCATED PA', 'SUB-ALLOCATED PA', 'LIR-PARTITIONED PA', 'AGGREGATED-BY-LIR', 'ALLOCATED UNSPECIFIED', 'LEGACY', 'ALLOCATED PI']
}

/** Each registry's status and type words, as its WHOIS and RDAP services write them. */
export const STATUS_VOCABULARY: Readonly<Record<RegistryId, StatusVocabulary>> = {
  ripe: RIPE_STYLE,
  afrinic: RIPE_STYLE,
  apnic: {
    leaf: ['ASSIGNED PORTABLE', 'ASSIGNED NON-PORTABLE'],
    container: ['ALLOCATED PORTABLE', 'ALLOCATED NON-PORTABLE', 'ALLOCATED UNSPECIFIED']
  },
  arin: {
    // WHOIS NetType words; RDAP writes the same in upper case, and names reassignments and
    // reallocations either by the noun or the participle
    leaf: ['Direct Assignment', 'Reassigned', 'Reassignment'],
    container: ['Direct Allocation', 'Reallocated', 'Reallocation']
  },
  lacnic: {
    leaf: ['assigned', 'reassigned', 're-assigned', 'direct assignment'],
    container: ['allocated', 'reallocated', 're-allocated', 'direct allocation']
  }
}

/** "  Direct   assignment " → "DIRECT ASSIGNMENT" */
export function normaliseStatusWord (type: string): string {
  return type.trim().replace(/\s+/g, ' ').toUpperCase()
}

const LEAF_WORDS: ReadonlyMap<RegistryId, ReadonlySet<string>> = new Map(
  (Object.entries(STATUS_VOCABULARY) as Array<[RegistryId, StatusVocabulary]>)
    .map(([r, v]) => [r, new Set(v.leaf.map(normaliseStatusWord))])
)

/** Whether a network of `registry` whose status/type word is `type` is a leaf (see the top of this file). */
export function isLeaf (registry: RegistryId, type: string): boolean {
  if (type === '') return false
  return LEAF_WORDS.get(registry)?.has(normaliseStatusWord(type)) ?? false
}

export function networkClass (registry: RegistryId, type: string): NetworkClass {
  return isLeaf(registry, type) ? 'leaf' : 'container'
}
