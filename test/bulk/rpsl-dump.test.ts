/**
 * The RPSL dump reader on real excerpts of RIPE's, APNIC's and AFRINIC's dumps
 * (test/fixtures/bulk/README.md says where each comes from), plain and gzipped, fed in chunks of
 * every size: objects as parseWhoisText makes them, comments and continuations, Latin-1 and UTF-8,
 * malformed objects passed over, dumps cut short, the class filter, stream errors and aborts.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { parseWhoisText } from '../../src/lookup/parse-util.js'
import { MAX_OBJECT_BYTES, newDumpStats, readRpslDump, type DumpObject, type DumpReadOptions, type DumpReadStats } from '../../src/bulk/rpsl-dump.js'

const FIXTURES = new URL('../fixtures/bulk/', import.meta.url)
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES))

/** `bytes` as a stream of `size`-byte chunks. */
function chunked (bytes: Buffer, size = 64 * 1024): Readable {
  const parts: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size))
  return Readable.from(parts)
}

async function readAll (bytes: Buffer | Readable, opts?: DumpReadOptions, size?: number): Promise<{ objects: DumpObject[], stats: DumpReadStats }> {
  const stats = newDumpStats()
  const objects: DumpObject[] = []
  for await (const o of readRpslDump(Buffer.isBuffer(bytes) ? chunked(bytes, size) : bytes, stats, opts)) objects.push(o)
  return { objects, stats }
}

/** The objects parseWhoisText makes of the same text (its messages — comments — aside). */
function expectedObjects (text: string): unknown[] {
  return parseWhoisText(text).objects
}

describe('RPSL dump reader', () => {
  it('reads each object of the real dumps as parseWhoisText makes it, with its class and first line', async () => {
    for (const name of ['ripe.db.inetnum', 'ripe.db.organisation', 'apnic.db.inetnum', 'apnic.db.organisation', 'afrinic.db']) {
      const bytes = fixture(name)
      const { objects, stats } = await readAll(bytes)
      assert.deepEqual(objects.map(o => o.obj), expectedObjects(bytes.toString('utf8')), name)
      assert.equal(stats.objects, objects.length, name)
      assert.equal(stats.skipped, 0, `${name}: ${stats.firstProblem}`)
      assert.equal(stats.bytes, bytes.length, name)
      assert.equal(stats.truncated, false, name)
      const lines = bytes.toString('utf8').split('\n')
      for (const o of objects) {
        assert.equal(o.cls, o.obj.attrs[0].key, `${name} line ${o.line}`)
        assert.ok(lines[o.line - 1].startsWith(`${o.cls}:`), `${name}: line ${o.line} is "${lines[o.line - 1]}", not the first line of a ${o.cls}`)
      }
    }
  })

  it('reads the same objects from the gzipped dump and in chunks of any size', async () => {
    const bytes = fixture('afrinic.db')
    const whole = await readAll(bytes)
    assert.equal(whole.objects.length, 14)
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      assert.deepEqual(await readAll(bytes, {}, size), whole, `plain in ${size}-byte chunks`)
      const gz = await readAll(gzipSync(bytes), {}, size)
      assert.deepEqual(gz.objects, whole.objects, `gzip in ${size}-byte chunks`)
      assert.equal(gz.stats.bytes, bytes.length, 'bytes counts the dump text, after decompression')
    }
  })

  it('joins continuation lines (space, tab or "+") to the attribute before them', async () => {
    const org = (await readAll(fixture('ripe.db.organisation'))).objects.find(o => o.obj.attrs[0].value === 'ORG-TO1-TEST')
    assert.equal(org?.obj.attrs.find(a => a.key === 'address')?.value, 'Test Org Street 1234 City Country')
    const apnic = (await readAll(fixture('apnic.db.inetnum'))).objects[0]
    assert.deepEqual(apnic.obj.attrs[0], { key: 'inetnum', value: '118.102.134.160 - 118.102.134.175' })
    const text = 'aut-num: AS1\nremarks: one\n\ttwo\n+\n+  three  \n   \nremarks:\n+ four\n'
    const { objects } = await readAll(Buffer.from(text))
    assert.deepEqual(objects.map(o => o.obj), [
      { attrs: [{ key: 'aut-num', value: 'AS1' }, { key: 'remarks', value: 'one two three' }] },
      { attrs: [{ key: 'remarks', value: 'four' }] }
    ], 'a line of blanks ends an object, as in parseWhoisText')
  })

  it('passes over % and # comment lines wherever they stand and keeps end-of-line comments in values', async () => {
    const text = '% header\n#\n\n% before\ninetnum: 10.0.0.0 - 10.0.0.255\n# inside\nnetname: NET # a comment\n%inside\nsource: RIPE # Filtered\n\n# trailer\n'
    const { objects, stats } = await readAll(Buffer.from(text))
    assert.deepEqual(objects, [{
      cls: 'inetnum',
      line: 5,
      obj: { attrs: [{ key: 'inetnum', value: '10.0.0.0 - 10.0.0.255' }, { key: 'netname', value: 'NET # a comment' }, { key: 'source', value: 'RIPE # Filtered' }] }
    }])
    assert.equal(stats.skipped, 0)
  })

  it('decodes an object as UTF-8 when its bytes are, else as Latin-1, and counts the Latin-1 ones', async () => {
    const obj = (descr: string): string => `organisation: ORG-TDE1-RIPE\norg-name: ${descr}\nsource: RIPE\n\n`
    const bytes = Buffer.concat([
      Buffer.from(obj('Telefónica de España S.A.U.'), 'latin1'),
      Buffer.from(obj('Telefónica Germany GmbH & Co. OHG'), 'utf8'),
      Buffer.from(obj('Kiev Ð Ñ\u00a0'), 'latin1'),
      Buffer.from(obj('ASCII only'), 'latin1')
    ])
    for (const size of [1, 5, 64 * 1024]) {
      const { objects, stats } = await readAll(bytes, {}, size)
      assert.deepEqual(objects.map(o => o.obj.attrs[1].value), ['Telefónica de España S.A.U.', 'Telefónica Germany GmbH & Co. OHG', 'Kiev Ð Ñ', 'ASCII only'], `${size}-byte chunks`)
      assert.equal(stats.latin1Objects, 2, `${size}-byte chunks`)
      const gz = await readAll(gzipSync(bytes), {}, size)
      assert.deepEqual(gz.objects, objects, `gzip in ${size}-byte chunks`)
    }
  })

  it('skips a malformed object, says where the first one was, and reads on', async () => {
    const good = (n: number): string => `inetnum: 10.0.${n}.0 - 10.0.${n}.255\nnetname: NET-${n}\nsource: RIPE\n`
    const text = [
      good(1),
      'this is not an object\nnetname: X\n', // line 5
      good(2),
      'inetnum: 10.0.3.0 - 10.0.3.255\nnetname: NET-3\nnot an attribute line\nsource: RIPE\n', // line 14 is bad
      `remarks: many lines\n${'remarks: x\n'.repeat(2000)}`,
      `descr: ${'x'.repeat(MAX_OBJECT_BYTES + 10)}\n`,
      `remarks: big\n${`remarks: ${'y'.repeat(1000)}\n`.repeat(70)}`,
      good(4)
    ].join('\n')
    for (const bytes of [Buffer.from(text), gzipSync(text)]) {
      const { objects, stats } = await readAll(bytes, {}, 4096)
      assert.deepEqual(objects.map(o => o.obj.attrs[1].value), ['NET-1', 'NET-2', 'NET-4'])
      assert.equal(stats.skipped, 5)
      assert.equal(stats.firstProblem, 'line 5: no "key: value" first line')
      assert.equal(objects[2].line, text.split('\n').indexOf('inetnum: 10.0.4.0 - 10.0.4.255') + 1, 'line numbers stay right after what was skipped')
    }
    const bad = await readAll(Buffer.from(`${good(1)}\n${good(2)}garbage\n\n${good(3)}`))
    assert.equal(bad.stats.firstProblem, 'line 8: neither "key: value" nor a continuation')
    assert.equal(bad.objects.length, 2)
  })

  it('stops at a gzip dump cut anywhere with truncated set and exactly the complete objects before the cut', async () => {
    const text = fixture('afrinic.db')
    const all = (await readAll(text)).objects
    const gz = gzipSync(text)
    let partial = 0
    for (let cut = 10; cut < gz.length; cut += 37) {
      const { objects, stats } = await readAll(gz.subarray(0, cut), {}, 512)
      assert.equal(stats.truncated, true, `cut after ${cut} of ${gz.length} bytes`)
      assert.deepEqual(objects, all.slice(0, objects.length), `cut after ${cut}: a prefix of the dump's objects, none invented or cut`)
      // an object is read only once the blank line after it was: never one the cut went through
      const lastEnd = objects.length === 0 ? 0 : text.indexOf('\n\n', lineOffset(text, objects[objects.length - 1].line)) + 2
      assert.ok(lastEnd <= stats.bytes, `cut after ${cut}: the last object read ends (${lastEnd}) within the text read (${stats.bytes})`)
      if (objects.length > 0 && objects.length < all.length) partial++
    }
    assert.ok(partial > 20, `${partial} cuts fell between the first and the last object`)
    const whole = await readAll(gz)
    assert.equal(whole.stats.truncated, false)
    assert.deepEqual(whole.objects, all)
  })

  it('reads a plain dump without a final line break to its end: only gzip can tell a dump is cut', async () => {
    const { objects, stats } = await readAll(Buffer.from('inetnum: 10.0.0.0 - 10.0.0.255\nsource: RIPE'))
    assert.equal(objects.length, 1)
    assert.deepEqual(objects[0].obj.attrs[1], { key: 'source', value: 'RIPE' })
    assert.equal(stats.truncated, false)
    const ended = await readAll(gzipSync('inetnum: 10.0.0.0 - 10.0.0.255\nsource: RIPE'))
    assert.equal(ended.objects.length, 1, 'a whole gzip stream ends its last object too')
  })

  it('yields only the classes asked for, counting the others neither as objects nor as skipped', async () => {
    const bytes = fixture('afrinic.db')
    const orgs = await readAll(gzipSync(bytes), { classes: new Set(['organisation']) })
    assert.deepEqual(orgs.objects.map(o => o.obj.attrs[0].value), ['ORG-CNpl1-AFRINIC', 'ORG-IS28-AFRINIC'])
    assert.equal(orgs.stats.objects, 2)
    assert.equal(orgs.stats.skipped, 0)
    const nets = await readAll(bytes, { classes: new Set(['inetnum']) })
    assert.deepEqual(nets.objects.map(o => o.cls), Array(6).fill('inetnum'))
  })

  it('keeps only the attributes asked for, with their continuations, and still refuses a line that is none', async () => {
    const bytes = fixture('ripe.db.organisation')
    const wanted = new Set(['organisation', 'org-name', 'address'])
    const all = await readAll(bytes)
    const some = await readAll(bytes, { attributes: wanted })
    assert.equal(some.objects.length, all.objects.length)
    for (const [k, o] of some.objects.entries()) {
      // the same attributes, in order, as the whole object's wanted ones (continued addresses joined alike)
      assert.deepEqual(o.obj.attrs, all.objects[k].obj.attrs.filter(a => wanted.has(a.key) || a === all.objects[k].obj.attrs[0]))
    }
    const bad = Buffer.from('organisation: ORG-X1-RIPE\nremarks: fine\n  continued\nthis is no attribute\norg-name: X\n\norganisation: ORG-Y1-RIPE\norg-name: Y\n\n')
    const r = await readAll(bad, { attributes: wanted })
    assert.deepEqual(r.objects.map(o => o.obj.attrs), [[{ key: 'organisation', value: 'ORG-Y1-RIPE' }, { key: 'org-name', value: 'Y' }]])
    assert.equal(r.stats.skipped, 1)
  })

  it('rethrows a stream error that is not a cut gzip stream, plain or gzipped', async () => {
    for (const bytes of [fixture('afrinic.db'), gzipSync(fixture('afrinic.db'))]) {
      const failing = Readable.from((async function * () {
        yield bytes.subarray(0, 2000)
        throw new Error('disk read failed')
      })())
      await assert.rejects(readAll(failing), /disk read failed/)
    }
    const corrupt = Buffer.from(gzipSync(fixture('afrinic.db')))
    corrupt.fill(0x55, 200, 260)
    await assert.rejects(readAll(corrupt), (err: NodeJS.ErrnoException) => err.code !== 'Z_BUF_ERROR')
  })

  it('stops with an AbortError when its signal is aborted', async () => {
    const ac = new AbortController()
    const stats = newDumpStats()
    const read: DumpObject[] = []
    await assert.rejects((async () => {
      for await (const o of readRpslDump(chunked(fixture('afrinic.db'), 100), stats, { signal: ac.signal })) {
        read.push(o)
        ac.abort()
      }
    })(), { name: 'AbortError' })
    assert.ok(read.length >= 1 && read.length < 14, `${read.length} objects read before the abort took effect`)
  })

  it('releases the input when the reader is left early', async () => {
    const input = chunked(gzipSync(fixture('afrinic.db')), 50)
    for await (const o of readRpslDump(input, newDumpStats())) { assert.equal(o.cls, 'mntner'); break }
    assert.equal(input.destroyed, true)
  })
})

/** Offset of the start of 1-based line `line` in `text`. */
function lineOffset (text: Buffer, line: number): number {
  let at = 0
  for (let l = 1; l < line; l++) at = text.indexOf(10, at) + 1
  return at
}
