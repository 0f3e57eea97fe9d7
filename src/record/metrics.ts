/**
 * How much record work this process did: records rebuilt in canonical form and records
 * msgpack-encoded, since start. Plain counters (no prom-client): tests and benchmarks read them to
 * check that a record is canonicalised and encoded once per hop.
 */
export const recordWork = {
  /** canonicalNetwork / canonicalNegative / canonicalFailure calls that rebuilt a record */
  canonicalised: 0,
  /** records msgpack-encoded by encodeRecord (not answered from its memo) */
  encoded: 0
}
