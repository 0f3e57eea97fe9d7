/**
 * A typed event emitter: `Events` maps each event name to its payload, so a listener's payload type
 * is checked where it is registered instead of written again by hand. A thin wrapper over
 * node:events (synchronous delivery in registration order; a listener that throws throws out of
 * `emit`), with one payload per event.
 *
 *   interface MeshEvents { membership: string[], departed: string }
 *   class Mesh extends TypedEmitter<MeshEvents> { … this.emit('departed', id) … }
 *   mesh.on('membership', peers => peers.length)   // peers: string[]
 */
import { EventEmitter } from 'node:events'

export type Listener<T> = (payload: T) => void

export class TypedEmitter<Events extends object> {
  private readonly emitter = new EventEmitter()

  on<K extends keyof Events & string> (event: K, listener: Listener<Events[K]>): this {
    this.emitter.on(event, listener)
    return this
  }

  once<K extends keyof Events & string> (event: K, listener: Listener<Events[K]>): this {
    this.emitter.once(event, listener)
    return this
  }

  off<K extends keyof Events & string> (event: K, listener: Listener<Events[K]>): this {
    this.emitter.off(event, listener)
    return this
  }

  /** Calls the event's listeners with `payload`; whether there were any. */
  emit<K extends keyof Events & string> (event: K, payload: Events[K]): boolean {
    return this.emitter.emit(event, payload)
  }

  listenerCount<K extends keyof Events & string> (event: K): number {
    return this.emitter.listenerCount(event)
  }
}
