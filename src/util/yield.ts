/**
 * Long synchronous work in a node (parsing the registries' delegation files, say) stops its
 * heartbeats and its gossip for as long as it runs: on a loaded 2-core machine, a second of
 * parsing became four seconds of silence, long enough for peers to count the node as gone. Such
 * work runs in slices with a turn of the event loop between them.
 */
export async function yieldToEventLoop (): Promise<void> {
  await new Promise<void>(resolve => setImmediate(resolve))
}
