/**
 * libp2p 3.x calls `Promise.withResolvers` (Node ≥ 22); on Node 20 this polyfill must be
 * evaluated before libp2p's modules. cli/bin.ts (the command) and mesh/libp2p.ts (where the libp2p
 * node is created) import it first; so do tests and scripts that load libp2p themselves.
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
