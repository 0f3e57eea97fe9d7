/**
 * How a light peer (`whoismesh metrics --follow`) joins the metrics topic: once it can graft.
 *
 * Gossipsub forwards a peer's own messages to every subscriber (flood publish) but relays other
 * peers' messages only along its mesh, and a peer enters the mesh by a GRAFT. A peer that
 * subscribed before it connected grafts at one of its later gossipsub heartbeats (about a second),
 * or at once only if its outbound stream happened to open before the other side's subscriptions
 * arrived; until then it hears its bootstrap node and nobody else. Subscribing once both the
 * bootstrap's subscription and our outbound stream are there makes gossipsub's join() graft it in
 * the same step as our subscription goes out, so relayed heartbeats arrive from the first line on.
 * A light peer subscribes to nothing else: it stores nothing, so the fleet's record gossip is not
 * sent to it. Full nodes subscribe at start, as before: they catch up by sync, not by gossip.
 */
import type { GossipSub } from '@libp2p/gossipsub'

export interface LightJoinOptions {
  /** subscribe anyway after this long (a peer that connects later is grafted by gossipsub's heartbeat) */
  timeoutMs: number
  /** how often to look, ms */
  pollMs?: number
  /** true once the mesh is stopping: give up without subscribing */
  stopped: () => boolean
}

/** Whether some subscriber of `topic` can be grafted now: we know its subscription and have an outbound stream to it. */
export function canGraft (pubsub: GossipSub, topic: string): boolean {
  // the outbound streams are on gossipsub's implementation, not on its published interface;
  // without them, knowing the subscription is the best sign there is
  const outbound = (pubsub as unknown as { streamsOutbound?: ReadonlyMap<string, unknown> }).streamsOutbound
  return pubsub.getSubscribers(topic).some(id => outbound?.has(id.toString()) ?? true)
}

/**
 * Subscribes to `topic` as soon as a subscriber can be grafted, or after `timeoutMs`; resolves
 * whether it subscribed (false when stopped first).
 */
export async function joinWhenGraftable (pubsub: GossipSub, topic: string, o: LightJoinOptions): Promise<boolean> {
  const until = Date.now() + o.timeoutMs
  while (!canGraft(pubsub, topic) && Date.now() < until) {
    if (o.stopped()) return false
    await new Promise(resolve => setTimeout(resolve, o.pollMs ?? 25))
  }
  if (o.stopped()) return false
  pubsub.subscribe(topic)
  return true
}
