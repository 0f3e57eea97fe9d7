/**
 * record: the network, negative and failure records, their canonical form and their deterministic
 * msgpack codec. The bottom layer: lookup produces records, the store keeps them, the mesh sends
 * them; all three speak these types.
 *
 *   const r = canonicalNetwork(value)   // checked, canonical field order, frozen (InvalidRecordError)
 *   canonicalNetwork(r) === r           // once per hop: asking again is free
 *   encodeRecord(r)                     // the same bytes on every node, encoded once
 */
export * from './interface.js'
export { InvalidRecordError } from './errors.js'
export { canonicalFailure, canonicalNegative, canonicalNetwork, checkAddress, checkJsonable, isCanonical, isPeerIdText } from './canonical.js'
export { decodeValue, encodeObjectOfArrays, encodeRecord, encodeValue } from './codec.js'
export { recordWork } from './metrics.js'
export { isLeaf, networkClass, normaliseStatusWord, STATUS_VOCABULARY, type NetworkClass, type StatusVocabulary } from './classify.js'
