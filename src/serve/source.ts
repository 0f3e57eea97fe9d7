/**
 * An AnswerSource (interface.ts) of a NetworkStore: a running node's, or one `whoismesh serve`
 * opened on a stopped data directory. Answers are report/lookup.ts's, so a service says what
 * `whoismesh lookup` says.
 */
import type { NetworkStore } from '../store/index.js'
import { answerStatus, lookupReport } from '../report/lookup.js'
import type { AnswerSource, ReplicaInfo } from './interface.js'
import type { ServePace } from './pace.js'

/** `pace`: a crawling node's (pace.ts): every lookup, and the warm-up between its slices, waits for the event loop to have time to spare */
export function storeAnswerSource (store: NetworkStore, peerId?: string, pace?: ServePace): AnswerSource {
  return {
    lookup: async address => {
      await pace?.turn()
      return await lookupReport(store, address)
    },
    firstMany: async (addresses, memo) => {
      await pace?.turn()
      const entries = await store.answersOf(addresses, memo)
      return addresses.map((a, i) => {
        const network = entries[i]
        return network === undefined ? answerStatus(store, a, undefined) : { ...answerStatus(store, a, network), network }
      })
    },
    warm: async (memo, signal) => await store.warmAnswers(memo, signal, pace === undefined ? undefined : async () => { await pace.turn() }),
    replica: (): ReplicaInfo => {
      const dumps = store.bulkHeaders()
      return {
        ...(peerId !== undefined ? { peerId } : {}),
        networks: store.counts().networks + dumps.reduce((n, h) => n + h.networks, 0),
        dumps: dumps.map(h => ({ registry: h.registry, takenAt: h.takenAt, serial: h.serial }))
      }
    }
  }
}
