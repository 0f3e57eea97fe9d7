/**
 * `AbortSignal.any([...signals, AbortSignal.timeout(ms)])` without Node 20's bug: a composite holds
 * its sources weakly, so a timeout signal nothing else references can be garbage-collected before
 * it fires, and the composite then never aborts (nodejs/node#57736, fixed by #57867 in later
 * majors). Seen here as sync reads that waited forever on a busy machine, where the collector runs
 * often. The timer below holds its controller strongly until it fires or `clear()` is called.
 */
export interface Deadline {
  signal: AbortSignal
  /** stops the timer (the operation ended): nothing waits `ms` to be collected */
  clear: () => void
}

export function deadline (ms: number, ...signals: AbortSignal[]): Deadline {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms)
  // like AbortSignal.timeout(): the deadline alone does not keep the process alive
  timer.unref()
  return {
    signal: signals.length === 0 ? ac.signal : AbortSignal.any([ac.signal, ...signals]),
    clear: () => clearTimeout(timer)
  }
}

/** Runs `op` with a deadline of `ms` joined with `signals`, cleared when `op` ends. */
export async function withDeadline<T> (ms: number, signals: AbortSignal[], op: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const d = deadline(ms, ...signals)
  try {
    return await op(d.signal)
  } finally {
    d.clear()
  }
}
