/**
 * mesh: the libp2p node that gossips records and heartbeats, the one validation choke point for
 * what peers send, membership, connections and catch-up sync.
 *
 *   const mesh = new Mesh({ listen, bootstrap }, { privateKey, store, logger, heartbeat })
 *   mesh.on('membership', peers => …)   // typed: MeshEvents
 *   await mesh.start()
 *   mesh.publishRecords(accepted.networks, accepted.negatives)
 */
export { Mesh } from './mesh.js'
export * from './interface.js'
export { encodeMessage, encodeNetsMessage, decodeMessage, type Heartbeat, type NetsMessage, type ValidRecords } from './messages.js'
export {
  VALIDATION_LIMITS, VALIDATION_REASONS, checkNegativeRecord, checkNetworkRecord, validateGossip, validateHeartbeat, validateRecords,
  type InboundMessage, type Validation, type ValidationReason
} from './validation.js'
export { currentTopic, parseTopic, stringifyTopic, TOPIC_KINDS, type TopicKind } from './topics.js'
export { loadOrCreatePeerKey } from './keys.js'
export { generateSwarmKey, loadSwarmKey, parseSwarmKey } from './swarm-key.js'
