/** A metrics server that cannot start: the message names the bad field or the busy port. */
export class MetricsServerError extends Error {
  override readonly name = 'MetricsServerError'
}
