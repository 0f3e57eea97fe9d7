/**
 * What travels on the gossip topics, msgpack-encoded (record/codec.ts's deterministic Packr).
 * Every inbound message is decoded and checked by validation.ts before any handler sees it.
 */
import {
  decodeValue, encodeObjectOfArrays, encodeRecord, encodeValue, type CanonicalNegative, type CanonicalNetwork,
  type NegativeRecord, type NetworkRecord
} from '../record/index.js'
import type { RegistryId } from '../registry/interface.js'

/** `nets`: a batch of newly found networks and negative results. */
export interface NetsMessage {
  networks: NetworkRecord[]
  negatives: NegativeRecord[]
}

/** A nets message (or sync batch) that passed validation: every record checked and canonical. */
export interface ValidRecords extends NetsMessage {
  networks: CanonicalNetwork[]
  negatives: CanonicalNegative[]
}

/** `metrics`: a node's heartbeat. */
export interface Heartbeat {
  /** the sender's peer id (must equal the signed `from` of the gossip message) */
  peerId: string
  /** increases with every heartbeat of one process */
  seq: number
  /** ms since epoch */
  sentAt: number
  version: string
  /** light peers (`whoismesh metrics --follow`) crawl nothing and own no addresses */
  light: boolean
  /** addresses other peers can dial, with /p2p/<id> */
  listen: string[]
  /** 2016 statuses and more (see CrawlCounters) */
  counters: Record<string, number>
  /** queued work per registry (a peer with none holds no share of that registry's budget) */
  demand: Record<RegistryId, number>
  /** this node's current rate per registry, requests/s */
  rates: Record<RegistryId, number>
  /** registries this node was told to back off from: until when (ms since epoch) */
  backoff: Partial<Record<RegistryId, number>>
  index: { networks: number, negatives: number, digest: string }
  sample: { total: number, resolved: number }
  /**
   * set on the last heartbeat of a node that stops cleanly, after its crawl stopped: it sends
   * no more requests, so its peers drop it at once (membership and budget shares)
   */
  leaving?: boolean
  /** the peers this node counts as demanders in its budget shares (fleet/budget-share.ts) */
  counting?: string[]
  /**
   * per entry of `counting`, the registries it is counted for: bit i for REGISTRY_IDS[i]. Absent
   * (older nodes): counted for every registry.
   */
  countingMask?: number[]
  /**
   * the registries whose imported dump this node answers their space from (src/bulk), each with
   * the dump's serial (0: unknown). Absent: none. Peers give such a registry's addresses to the
   * crawlers without its dump (fleet/dump-ownership.ts).
   */
  bulk?: Partial<Record<RegistryId, number>>
}

export function encodeMessage (m: NetsMessage | Heartbeat): Uint8Array {
  return encodeValue(m)
}

/**
 * A nets message of canonical records: the same bytes as `encodeMessage({ networks, negatives })`,
 * spliced from each record's remembered encoding (the one the store wrote), not encoded again.
 */
export function encodeNetsMessage (networks: readonly CanonicalNetwork[], negatives: readonly CanonicalNegative[]): Buffer {
  return encodeObjectOfArrays([['networks', networks.map(encodeRecord)], ['negatives', negatives.map(encodeRecord)]])
}

export function decodeMessage (bytes: Uint8Array): unknown {
  return decodeValue(bytes)
}
