/**
 * libp2p 3.x calls `Promise.withResolvers` (Node ≥ 22); on Node 20 this one-line polyfill must
 * be evaluated before libp2p's modules. src/cli/bin.js and src/mesh/index.ts import it first.
 */
if (typeof (Promise as any).withResolvers !== 'function') {
  (Promise as any).withResolvers = function withResolvers<T> () {
    let resolve!: (v: T | PromiseLike<T>) => void
    let reject!: (e?: unknown) => void
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}
export {}
