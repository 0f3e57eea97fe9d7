/**
 * `whoismesh repair [--data DIR]`: repairs a damaged store in place (src/store/repair.ts) and says
 * what it kept and what it dropped; the node re-fetches or re-syncs what was dropped.
 */
import { repairStore } from '../../store/index.js'

export async function runRepair (o: { data: string }): Promise<void> {
  const r = await repairStore({ dataDir: o.data })
  const lines = [
    `repaired ${r.dataDir}: ${r.networks} networks, ${r.negatives} unallocated addresses, ${r.failures} failures kept`,
    `damaged entries dropped: ${r.dropped}; headers rebuilt: ${r.reframed}`,
    r.lostFiles.length > 0 ? `files LevelDB could not read, moved to ${r.dataDir}/lost/: ${r.lostFiles.join(', ')}` : 'no file was unreadable',
    `digest ${r.digest}`,
    r.dropped > 0 || r.lostFiles.length > 0
      ? 'start the node again: it looks up what was lost, or gets it from its peers by sync'
      : 'start the node again'
  ]
  process.stdout.write(lines.join('\n') + '\n')
}
