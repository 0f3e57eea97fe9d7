/**
 * The crawl's dispatchers sleep until something may have made work available — a lookup ended,
 * a retry fell due, records arrived, rates changed — and are woken all at once by `wake()`.
 */
export class WakeUp {
  private waiting: (() => void) | undefined
  private readonly timers = new Set<ReturnType<typeof setTimeout>>()

  /** Wakes everyone waiting in next() or sleep(). */
  wake (): void {
    const w = this.waiting
    this.waiting = undefined
    w?.()
  }

  /** Resolves at the next wake(). */
  next (): Promise<void> {
    return new Promise(resolve => {
      const prev = this.waiting
      this.waiting = () => { prev?.(); resolve() }
    })
  }

  /** Resolves after `ms` or at the next wake(), whichever comes first; at once if `signal` aborted. */
  async sleep (ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return
    await new Promise<void>(resolve => {
      const t = setTimeout(() => { this.timers.delete(t); resolve() }, Math.ceil(ms))
      this.timers.add(t)
      void this.next().then(() => { clearTimeout(t); this.timers.delete(t); resolve() })
    })
  }

  /** Wakes everyone in `ms` (a retry falls due). */
  after (ms: number): void {
    const t = setTimeout(() => { this.timers.delete(t); this.wake() }, Math.ceil(ms))
    this.timers.add(t)
  }

  /** Cancels the timers (the crawl ended). */
  clear (): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }
}
