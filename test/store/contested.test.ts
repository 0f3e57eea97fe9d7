/**
 * A record that loses the pick rule to a stored copy saying otherwise is reported as contested
 * (CommitResult.contested, IndexedEvent.contested) with the kept copy's author; a loser that says
 * the same (another fetch of the same network) is not. Real LevelDB in a temp dir.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NetworkStore, type ContestedRange } from '../../src/store/index.js'
import { neg, net, tempDir } from './helpers/records.js'

const FIRST = '12D3KooWFirstAuthor1111111111111111111111111111111'
const SECOND = '12D3KooWSecondAuthor222222222222222222222222222222'

test('a loser of the pick rule that says otherwise than the kept copy is contested; one that says the same is not', async () => {
  const { dir, cleanup } = await tempDir()
  const store = await NetworkStore.open({ dataDir: dir })
  try {
    const heard: ContestedRange[][] = []
    store.onIndexed(e => heard.push(e.contested))
    const kept = net('193.0.0.0', '193.0.255.255', { type: 'ASSIGNED PA', fetchedAt: 1_000, author: FIRST })
    await store.commit({ networks: [kept] })
    // a later fetch of the same network: loses, says the same
    let r = await store.commit({ networks: [{ ...kept, fetchedAt: 2_000, author: SECOND }] })
    assert.deepEqual([r.networks.unchanged, r.contested.length], [1, 0])
    // another name, another class (a container's type): each loses and is contested
    for (const over of [{ name: 'OTHER' }, { type: 'ALLOCATED PA' }, { country: 'ZZ' }]) {
      r = await store.commit({ networks: [{ ...kept, ...over, fetchedAt: 2_000, author: SECOND }] })
      assert.equal(r.contested.length, 1, JSON.stringify(over))
      assert.deepEqual([r.contested[0].kind, r.contested[0].record.author, r.contested[0].keptAuthor], ['network', SECOND, FIRST])
    }
    assert.deepEqual(heard.map(c => c.length), [0, 1, 1, 1], 'the listeners hear each contested range (and the first commit\'s nothing)')
    // a loser with another name, the kept copy a leaf too: only the loser's query address may be left open
    assert.deepEqual(heard[1][0], { start: kept.start, end: kept.end, author: SECOND, keptAuthor: FIRST, blocked: [kept.queryAddress, kept.queryAddress] })
    assert.equal((await store.network(kept.start, kept.end))?.name, kept.name, 'the kept copy stays')
    // notes: another reason loses and is contested, the same reason fetched later is not
    const note = neg('45.1.2.3', { registry: 'arin', reason: 'not-found', fetchedAt: 1_000, author: FIRST })
    await store.commit({ negatives: [note] })
    r = await store.commit({ negatives: [{ ...note, fetchedAt: 2_000, author: SECOND }] })
    assert.equal(r.contested.length, 0)
    r = await store.commit({ negatives: [{ ...note, reason: 'answered', fetchedAt: 2_000, author: SECOND }] })
    assert.deepEqual(r.contested.map(c => [c.kind, c.keptAuthor]), [['note', FIRST]])
    assert.deepEqual(heard[heard.length - 1], [{ start: note.address, end: note.address, author: SECOND, keptAuthor: FIRST, blocked: [note.address, note.address] }])
    // a leaf that loses to a container: every address of the leaf may be left open
    const container = net('194.0.0.0', '194.0.255.255', { type: 'ALLOCATED PA', fetchedAt: 1_000, author: FIRST })
    await store.commit({ networks: [container] })
    await store.commit({ networks: [{ ...container, type: 'ASSIGNED PA', fetchedAt: 2_000, author: SECOND }] })
    assert.deepEqual(heard[heard.length - 1].map(c => c.blocked), [[container.start, container.end]])
    // the same dispute the other way round: a copy saying otherwise replaces the stored record by
    // an earlier fetch time; the replaced record is the one reported (it lost), with its author
    r = await store.commit({ networks: [{ ...kept, name: 'EARLIER', type: 'ALLOCATED PA', fetchedAt: 500, author: SECOND }] })
    assert.equal(r.networks.changed, 1)
    assert.deepEqual(r.contested.map(c => [c.kind, c.kind === 'network' ? c.record.name : '', c.record.author, c.keptAuthor, c.replaced]), [['network', kept.name, FIRST, SECOND, true]])
    assert.deepEqual(heard[heard.length - 1].map(c => c.blocked), [[kept.start, kept.end]], 'a replaced leaf, the kept copy a container: its whole range')
    // a listed record answers for its range itself: replacing a copy saying otherwise is no dispute
    r = await store.commit({ networks: [{ ...kept, listedSample: 1000, listedAt: 2_000, fetchedAt: 3_000, author: FIRST }] })
    assert.deepEqual([r.networks.changed, r.contested.length], [1, 0])
  } finally {
    await store.close()
    await cleanup()
  }
})
