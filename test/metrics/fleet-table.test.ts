/**
 * `whoismesh metrics --table`: the cluster table says what it measures — the registry requests a
 * node sent per second (from its heartbeats' `requests` counter) beside its share of the budgets
 * of the registries it still has work for, and "done" for a node with none.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatTable, HeardNodes } from '../../src/cli/commands/metrics.js'
import type { Heartbeat } from '../../src/mesh/index.js'
import { REGISTRY_IDS, type RegistryId } from '../../src/registry/interface.js'

const per = (v: Partial<Record<RegistryId, number>>): Record<RegistryId, number> =>
  Object.fromEntries(REGISTRY_IDS.map(id => [id, v[id] ?? 0])) as Record<RegistryId, number>

/** A heartbeat of `peer` sent at `atS` seconds, having sent `requests` registry requests in all. */
function hb (peer: string, atS: number, requests: number, demand: Partial<Record<RegistryId, number>>, rates: Partial<Record<RegistryId, number>>): Heartbeat {
  return {
    peerId: `12D3KooW${peer.padStart(44, 'x')}`,
    seq: atS,
    sentAt: 1_000_000 + atS * 1000,
    version: 'test',
    light: false,
    listen: [],
    counters: { lookups: requests, requests },
    demand: per(demand),
    rates: per(rates),
    backoff: {},
    index: { networks: 10, negatives: 0, digest: 'ab'.repeat(32) },
    sample: { total: 100, resolved: 50 }
  }
}

/** The table's cells of a node's row (`peer` as given to hb()), by column name. */
function row (table: string, peer: string): Record<string, string> {
  const lines = table.split('\n')
  const head = lines[0].trim().split(/\s+/)
  const line = lines.find(l => l.startsWith(hb(peer, 0, 0, {}, {}).peerId.slice(-12)))
  assert.ok(line !== undefined, `no row for ${peer}:\n${table}`)
  const cells = line.trim().split(/\s+/)
  return Object.fromEntries(head.map((h, i) => [h, cells[i]]))
}

test('a node\'s row shows the requests it sent per second beside its share of the registries it has work for', () => {
  const heard = new HeardNodes(10_000)
  // arin and ripe have work, 9.8/s each; lacnic's idle share (0.2/s) is no share of anything
  const rates = { arin: 9.8, ripe: 9.8, lacnic: 0.2 }
  const demand = { arin: 500, ripe: 300 }
  heard.record(hb('a', 0, 0, demand, rates))
  assert.equal(row(formatTable(heard.latest, 2000), 'a')['sent/s'], '-', 'one heartbeat gives no rate')
  for (let s = 2; s <= 20; s += 2) heard.record(hb('a', s, 19 * s, demand, rates))
  const table = formatTable(heard.latest, 2000)
  // over the last 10 s (and one heartbeat more as its edge): 19 requests per second
  assert.deepEqual({ sent: row(table, 'a')['sent/s'], share: row(table, 'a')['share/s'] }, { sent: '19.0', share: '19.6' })
  assert.match(table, /sent 19\.0 req\/s/)
})

test('a node with no work left shows "done" as its share, and what it still sends', () => {
  const heard = new HeardNodes(10_000)
  const idle = { arin: 0.2, ripe: 0.2, apnic: 0.2, lacnic: 0.2, afrinic: 0.2 }
  heard.record(hb('b', 0, 1000, {}, idle))
  heard.record(hb('b', 2, 1000, {}, idle))
  const cells = row(formatTable(heard.latest, 2000), 'b')
  assert.deepEqual({ sent: cells['sent/s'], share: cells['share/s'] }, { sent: '0.0', share: 'done' })
})

test('the rate follows the window and starts again when a restarted node counts from less', () => {
  const heard = new HeardNodes(4_000)
  const demand = { arin: 10 }
  const rates = { arin: 10 }
  // 10/s for 10 s, then 2/s
  for (let s = 0; s <= 10; s++) heard.record(hb('c', s, 10 * s, demand, rates))
  for (let s = 11; s <= 20; s++) heard.record(hb('c', s, 100 + 2 * (s - 10), demand, rates))
  assert.equal(heard.latest.get(hb('c', 0, 0, {}, {}).peerId)?.sentPerSecond, 2)
  // restarted: its count went back to what its last commit held
  heard.record(hb('c', 21, 90, demand, rates))
  assert.equal(heard.latest.get(hb('c', 0, 0, {}, {}).peerId)?.sentPerSecond, undefined)
  heard.record(hb('c', 23, 96, demand, rates))
  assert.equal(heard.latest.get(hb('c', 0, 0, {}, {}).peerId)?.sentPerSecond, 3)
})

test('with no node heard, the table carries the line that says why', () => {
  const table = formatTable(new Map(), 2000, 'whoismesh: reached no node: could not connect to /ip4/127.0.0.1/tcp/1/p2p/x within 5 s; still listening')
  assert.match(table, /^node .*\nwhoismesh: reached no node: could not connect to .*; still listening\n\nnodes 0 /)
  assert.doesNotMatch(formatTable(new Map(), 2000), /reached no node/)
})
