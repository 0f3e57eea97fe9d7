/**
 * How the owning registry describes a network of the nested world: the same fields as a flat
 * world network (src/sim/records.ts), plus its place in the tree: the RIR's type/status word for
 * its level, its parent's handle (and name, for ARIN's `Parent:` line; LACNIC's `inetnum-up:`),
 * and whether it is a leaf.
 */
import type { RegistryId } from '../registry/interface.js'
import { slashEightOf } from '../registry/iana.js'
import { formatIPv4 } from '../util/ipv4.js'
import type { NestedWorld, TreeNode } from './nested.js'
import {
  blocksOf, cleanOrgName, dashed, datesOf, GAP_NAMES, networkName, orgHandleFor, RIR_ORGS, slashEightParentHandle, type SimNetwork
} from './records.js'
import { mix32 } from './world.js'

/** [RDAP type, WHOIS type] per registry and kind of network. */
interface Words { allocation: [string, string], allocationLeaf: [string, string], sub: [string, string], leaf: [string, string], unassigned: [string, string] }

const RPSL_WORDS: Words = {
  allocation: ['ALLOCATED PA', 'ALLOCATED PA'],
  allocationLeaf: ['ASSIGNED PI', 'ASSIGNED PI'],
  sub: ['SUB-ALLOCATED PA', 'SUB-ALLOCATED PA'],
  leaf: ['ASSIGNED PA', 'ASSIGNED PA'],
  unassigned: ['ALLOCATED PA', 'ALLOCATED PA']
}

/** The type words each registry writes (research B.1; ARIN RDAP upper case as in src/sim/records.ts). */
export const TYPE_WORDS: Record<RegistryId, Words> = {
  arin: {
    allocation: ['DIRECT ALLOCATION', 'Direct Allocation'],
    allocationLeaf: ['DIRECT ASSIGNMENT', 'Direct Assignment'],
    sub: ['REALLOCATION', 'Reallocated'],
    leaf: ['REASSIGNMENT', 'Reassigned'],
    unassigned: ['ALLOCATED TO ARIN', 'Allocated to ARIN']
  },
  ripe: RPSL_WORDS,
  afrinic: RPSL_WORDS,
  apnic: {
    allocation: ['ALLOCATED PORTABLE', 'ALLOCATED PORTABLE'],
    allocationLeaf: ['ASSIGNED PORTABLE', 'ASSIGNED PORTABLE'],
    sub: ['ALLOCATED NON-PORTABLE', 'ALLOCATED NON-PORTABLE'],
    leaf: ['ASSIGNED NON-PORTABLE', 'ASSIGNED NON-PORTABLE'],
    unassigned: ['ALLOCATED PORTABLE', 'ALLOCATED PORTABLE']
  },
  lacnic: {
    allocation: ['allocated', 'allocated'],
    allocationLeaf: ['assigned', 'assigned'],
    sub: ['reallocated', 'reallocated'],
    leaf: ['reassigned', 'reassigned'],
    unassigned: ['reserved', 'reserved']
  }
}

/** A number naming a nested network uniquely (above any flat-world index): its depth and start. */
export function nestedKey (node: TreeNode): number {
  return (node.depth + 1) * 2 ** 32 + node.start
}

function prefixLen (start: number, end: number): number {
  return 32 - Math.log2(end - start + 1)
}

/** The handle registry `registry` gives a node of the tree. */
export function handleOf (nw: NestedWorld, node: TreeNode, registry: RegistryId): string {
  switch (registry) {
    case 'arin': return `NET-${dashed(node.start)}-${node.depth === 0 && nw.holder[node.alloc] < 0 ? 0 : node.depth + 1}`
    // CIDR by construction (allocations, ranges and generated networks are single blocks at LACNIC)
    case 'lacnic': return `${formatIPv4(node.start)}/${prefixLen(node.start, node.end)}`
    default: return `${formatIPv4(node.start)} - ${formatIPv4(node.end)}`
  }
}

/** The organisation name a node's holder has. */
function orgOf (nw: NestedWorld, node: TreeNode): { org: string, orgIndex: number, asn: number } {
  const w = nw.world
  if (node.flat >= 0 || node.level === 'allocation') {
    const i = node.flat >= 0 ? node.flat : nw.holder[node.alloc]
    return { org: cleanOrgName(w.orgNameOf(i)) || `AS${w.asn[i]}`, orgIndex: w.org[i], asn: w.asn[i] }
  }
  // a customer or downstream: an organisation of the dataset picked by the network's hash
  const pick = mix32(node.start ^ Math.imul(node.depth + 1, 0x27d4eb2d) ^ nw.seed) % w.orgs.length
  const org = cleanOrgName(w.orgs[pick])
  if (org !== '') return { org, orgIndex: pick, asn: 0 }
  return { ...orgOf(nw, node.parent!), asn: 0 }
}

/** The owning registry's description of a network of the nested world. */
export function describeNode (nw: NestedWorld, node: TreeNode): SimNetwork {
  const { start, end } = node
  const registry = nw.ownerOf(node.alloc)
  const administeredBy = slashEightOf(start).registry!
  const unassigned = node.level === 'allocation' && nw.holder[node.alloc] < 0
  const { blocks, cidrs } = blocksOf(start, end)
  const { registered, lastChanged } = datesOf(mix32(start ^ 0x0da7e5 ^ Math.imul(node.depth, 0x3c6ef372)))
  const rir = RIR_ORGS[registry]
  const holder = unassigned ? undefined : orgOf(nw, node)
  const org = holder?.org ?? rir.name
  const holderFlat = node.flat >= 0 ? node.flat : nw.holder[node.alloc]
  const country = unassigned ? rir.country : nw.world.countryCodeOf(holderFlat)
  const orgHandle = holder === undefined ? rir.handle : orgHandleFor(registry, org, holder.orgIndex, country)
  const asn = holder?.asn ?? 0
  const name = registry === 'lacnic' ? '' : unassigned ? GAP_NAMES[registry] : networkName(org, asn)

  const words = TYPE_WORDS[registry]
  const childless = !node.container
  const [type, whoisType] = unassigned
    ? words.unassigned
    : registry === 'ripe' && slashEightOf(start).status === 'LEGACY'
      ? ['LEGACY', 'LEGACY']
      : node.level === 'allocation'
        ? (childless ? words.allocationLeaf : words.allocation)
        : (childless ? words.leaf : words.sub)
  // RIPE's LEGACY objects nest in LEGACY and may be subdivided: never leaves by their word
  const leaf = childless && type !== 'LEGACY'

  const handle = handleOf(nw, node, registry)
  let parentHandle: string
  let parentName: string | undefined
  let inetnumUp: string | undefined
  if (node.parent === undefined) {
    const wholeSlashEight = start % 2 ** 24 === 0 && end === start + 2 ** 24 - 1
    parentHandle = slashEightParentHandle(registry, start, unassigned || wholeSlashEight)
  } else {
    parentHandle = handleOf(nw, node.parent, registry)
    if (registry === 'arin') {
      const p = orgOf(nw, node.parent)
      parentName = networkName(p.org, p.asn)
    }
    if (registry === 'lacnic') inetnumUp = parentHandle
  }
  const out: SimNetwork = {
    index: nestedKey(node),
    start,
    end,
    registry,
    handle,
    name,
    org,
    country,
    gap: unassigned,
    administeredBy,
    asn,
    blocks,
    cidrs,
    type,
    whoisType,
    parentHandle,
    orgHandle,
    registered,
    lastChanged,
    leaf
  }
  if (parentName !== undefined) out.parentName = parentName
  if (inetnumUp !== undefined) out.inetnumUp = inetnumUp
  return out
}
