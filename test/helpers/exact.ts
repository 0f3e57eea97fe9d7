/**
 * The exact-answer judge of issue 12: over the sample addresses a node resolved, the share whose
 * most specific stored network — what `whoismesh lookup <ip> --json` reports first
 * (src/report/lookup.ts; here the store's in-memory `answerRange`: the crawled index's or an imported
 * dump's, src/bulk) — is the
 * network the registry's own answer for that address describes: the simulator's ground truth
 * (`truthFor` of src/sim/truth.ts in process, or `GET /truth?ip=` on its control server).
 *
 * FOR JUDGES ONLY (tests, benchmarks). No crawler code may read `/truth` or `truthFor`: a crawler
 * learns only what the registries' answers say. This file lives under test/ and is imported by
 * tests and scripts/bench-exact.ts, never by src/.
 *
 *   const j = await judgeExact(dataDir, sampleSlice(3000), inProcessTruth(sim.nested ?? sim.world))
 *   j.exact / j.judged   // the exact-answer rate
 */
import { NetworkStore, type NetworkRange } from '../../src/store/index.js'
import { truthFor, type Truth, type World, type NestedWorld } from '../../src/sim/index.js'
import { formatIPv4, parseIPv4 } from '../../src/util/ipv4.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'

/** The registry's own answer for an address; undefined for special-purpose and reserved space. */
export type TruthSource = (address: number) => Truth | undefined | Promise<Truth | undefined>

/** Ground truth from a world held in this process (the simulator's `nested` or `world`). */
export function inProcessTruth (world: World | NestedWorld): TruthSource {
  return address => truthFor(world, address)
}

/**
 * Ground truth over HTTP, for a simulator in another process: `GET <controlUrl>/truth?ip=A.B.C.D`
 * (controlUrl: e.g. `http://127.0.0.1:PORT`, the simulator's statsUrl without `/stats`).
 * 404 = special-purpose or reserved space.
 */
export function httpTruth (controlUrl: string): TruthSource {
  const base = controlUrl.replace(/\/stats$/, '').replace(/\/$/, '')
  return async address => {
    const res = await fetch(`${base}/truth?ip=${formatIPv4(address)}`)
    if (res.status === 404) { await res.arrayBuffer(); return undefined }
    if (!res.ok) throw new Error(`GET /truth?ip=${formatIPv4(address)}: HTTP ${res.status} ${await res.text()}`)
    return await res.json() as Truth
  }
}

/** One wrong answer, for messages. */
export interface WrongAnswer {
  address: string
  answer: string
  answerRegistry: RegistryId
  truth: string
  truthRegistry: RegistryId
}

export interface ExactJudgement {
  /** sample addresses looked at */
  sample: number
  /** special-purpose or reserved space (no truth): excluded from everything below */
  reserved: number
  /** in no stored network and without a negative record: not resolved (yet) */
  outside: number
  /** in no stored network but recorded as not allocated by the registry */
  negatives: number
  /** inside at least one stored network: the addresses judged */
  judged: number
  /** most specific stored network = truth (same start, end and registry) */
  exact: number
  /** wrong, answered with a container that strictly holds the truth (a more specific child in truth) */
  coarse: number
  /** of the coarse ones, those whose truth is a leaf (a customer assignment the crawl never found) */
  coarseLeafTruth: number
  /** wrong in any other way: the answer does not hold the truth network, or another registry's */
  other: number
  /** exact ÷ judged (1 when nothing was judged) */
  rate: number
  /** distinct truth networks among the judged addresses */
  truthNetworks: number
  /** distinct most specific stored networks among the judged addresses */
  answerNetworks: number
  /** judged, exact and coarse addresses by the truth's registry */
  byRegistry: Record<RegistryId, { judged: number, exact: number, coarse: number }>
  /** the first few of each kind of wrong answer */
  examples: { coarse: WrongAnswer[], other: WrongAnswer[] }
}

const EXAMPLES = 5
const fmtRange = (s: number, e: number): string => `${formatIPv4(s)} - ${formatIPv4(e)}`

/**
 * Judges the answers of a store — an open NetworkStore, or a stopped node's data directory (opened
 * and closed here) — for `sample` against `truth`.
 */
export async function judgeExact (store: NetworkStore | string, sample: Iterable<number>, truth: TruthSource): Promise<ExactJudgement> {
  const opened = typeof store === 'string' ? await NetworkStore.open({ dataDir: store }) : undefined
  const s = opened ?? store as NetworkStore
  const j: ExactJudgement = { sample: 0, reserved: 0, outside: 0, negatives: 0, judged: 0, exact: 0, coarse: 0, coarseLeafTruth: 0, other: 0, rate: 1, truthNetworks: 0, answerNetworks: 0, byRegistry: Object.fromEntries(REGISTRY_IDS.map(id => [id, { judged: 0, exact: 0, coarse: 0 }])) as ExactJudgement['byRegistry'], examples: { coarse: [], other: [] } }
  const truthSet = new Set<string>()
  const answerSet = new Set<string>()
  try {
    for (const address of sample) {
      j.sample++
      const t = await truth(address)
      if (t === undefined) { j.reserved++; continue }
      const answer: NetworkRange | undefined = s.answerRange(address)
      if (answer === undefined) {
        if (s.hasNegative(address)) j.negatives++
        else j.outside++
        continue
      }
      j.judged++
      const reg = j.byRegistry[t.registry]
      reg.judged++
      const ts = parseIPv4(t.start)
      const te = parseIPv4(t.end)
      truthSet.add(`${t.registry} ${ts} ${te}`)
      answerSet.add(`${answer.registry} ${answer.start} ${answer.end}`)
      if (answer.start === ts && answer.end === te && answer.registry === t.registry) { j.exact++; reg.exact++; continue }
      const wrong: WrongAnswer = { address: formatIPv4(address), answer: fmtRange(answer.start, answer.end), answerRegistry: answer.registry, truth: fmtRange(ts, te), truthRegistry: t.registry }
      const holdsTruth = answer.registry === t.registry && answer.start <= ts && answer.end >= te
      if (holdsTruth) {
        j.coarse++
        reg.coarse++
        if (t.leaf) j.coarseLeafTruth++
        if (j.examples.coarse.length < EXAMPLES) j.examples.coarse.push(wrong)
      } else {
        j.other++
        if (j.examples.other.length < EXAMPLES) j.examples.other.push(wrong)
      }
    }
  } finally {
    await opened?.close()
  }
  j.rate = j.judged === 0 ? 1 : j.exact / j.judged
  j.truthNetworks = truthSet.size
  j.answerNetworks = answerSet.size
  return j
}

/** One line for logs and assertion messages. */
export function describeJudgement (j: ExactJudgement): string {
  return `${j.exact}/${j.judged} exact (${(100 * j.rate).toFixed(2)}%), coarse ${j.coarse} (truth a leaf: ${j.coarseLeafTruth}), other ${j.other}, outside ${j.outside}, negatives ${j.negatives}, reserved ${j.reserved}; ` +
    `truth networks ${j.truthNetworks}, answer networks ${j.answerNetworks}` +
    (j.examples.other.length > 0 ? `; other e.g. ${JSON.stringify(j.examples.other.slice(0, 2))}` : '')
}

/**
 * What a store answers for each of `sample`: its most specific stored network (range, registry,
 * handle), "note" for an address with a note of its own and no network, "none" for neither — what
 * two crawls of one sample must agree on under the exact rule, whichever networks besides they
 * happened to store (listings find children no sample address needed).
 */
export async function answersOf (store: string, sample: Iterable<number>): Promise<string[]> {
  const s = await NetworkStore.open({ dataDir: store })
  try {
    const out: string[] = []
    for (const address of sample) {
      const n = await s.mostSpecific(address)
      if (n !== undefined) out.push(`${formatIPv4(n.start)} - ${formatIPv4(n.end)} ${n.registry} ${n.handle}`)
      else out.push(s.hasNegative(address) ? 'note' : 'none')
    }
    return out
  } finally {
    await s.close()
  }
}

/** The first few sample addresses two answer lists (answersOf, same sample) disagree on, for messages. */
export function answerDifferences (a: string[], b: string[], sample: ArrayLike<number>, limit = 5): string[] {
  const out: string[] = []
  for (let i = 0; i < a.length && out.length < limit; i++) if (a[i] !== b[i]) out.push(`${formatIPv4(sample[i])}: ${a[i]} against ${b[i]}`)
  return out
}
