/**
 * Gossip topics: typed and versioned. `stringifyTopic` and `parseTopic` round-trip; the test
 * table covers every kind (the compiler keeps it complete through TOPIC_KINDS).
 */
export const TOPIC_KINDS = ['nets', 'metrics'] as const
export type TopicKind = typeof TOPIC_KINDS[number]

/** Current wire version of each topic. nets 2: every record carries its author, the signed sender (NetworkRecord.author). */
export const TOPIC_VERSIONS: Record<TopicKind, number> = { nets: 2, metrics: 1 }

export interface Topic { kind: TopicKind, version: number }

const PREFIX = '/whoismesh/'

export function stringifyTopic (t: Topic): string {
  return `${PREFIX}${t.kind}/${t.version}`
}

/** Parses a topic string; undefined for anything that is not a whoismesh topic. */
export function parseTopic (s: string): Topic | undefined {
  if (!s.startsWith(PREFIX)) return undefined
  const m = /^([a-z]+)\/(\d{1,4})$/.exec(s.slice(PREFIX.length))
  if (m == null || !(TOPIC_KINDS as readonly string[]).includes(m[1])) return undefined
  return { kind: m[1] as TopicKind, version: Number(m[2]) }
}

/** The topic string of a kind at its current version. */
export function currentTopic (kind: TopicKind): string {
  return stringifyTopic({ kind, version: TOPIC_VERSIONS[kind] })
}
