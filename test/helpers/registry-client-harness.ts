/**
 * The harness of the RegistryClient tests: fake registries (RDAP over HTTP, WHOIS over TCP, on
 * 127.0.0.1) started afresh for every test, clients whose gate and request events are recorded,
 * answers served from the fixtures, and the real IANA → ARIN → AFRINIC referral chain split into
 * its three answers. A test file calls `useFakeRegistries()` at its top level, then reads `fake`.
 */
import { afterEach, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { RegistryClient, type RegistryClientOptions, type RegistryRequestEvent } from '../../src/lookup/index.js'
import type { RegistryId } from '../../src/registry/interface.js'
import { FakeRegistries, fixture } from './fake-registries.js'

/** the operator contact the clients are given */
export const CONTACT = 'noc@example.org'

export interface Harness {
  client: RegistryClient
  acquired: RegistryId[]
  /** the registries of the requests the gate was told of, in order */
  noted: RegistryId[]
  events: RegistryRequestEvent[]
}

/** The current test's fake registries (a live binding: replaced before each test). */
export let fake: FakeRegistries
const clients: RegistryClient[] = []

/** Starts fresh fake registries before each test of the calling file; closes them and its clients after. */
export function useFakeRegistries (): void {
  beforeEach(async () => { fake = await FakeRegistries.start() })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map(async c => await c.close()))
    await fake.close()
  })
}

/** A client of the current fake registries, closed after the test; `opts` override the defaults. */
export function makeClient (opts: Partial<RegistryClientOptions> = {}): Harness {
  const acquired: RegistryId[] = []
  const noted: RegistryId[] = []
  const events: RegistryRequestEvent[] = []
  const client = new RegistryClient(
    { endpoints: fake.endpoints, contact: CONTACT, timeoutMs: 5000, ...opts },
    {
      gate: { acquire: async (registry) => { acquired.push(registry) }, noteRequest: (registry) => { noted.push(registry) } },
      onRequest: (e) => { events.push(e) }
    }
  )
  clients.push(client)
  return { client, acquired, noted, events }
}

/** An RDAP handler answering 200 with the fixture file `name`. */
export function serveJson (name: string) {
  return (_req: unknown, res: import('node:http').ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/rdap+json' }).end(fixture(name))
  }
}

/** A WHOIS handler answering `text` and closing. */
export function serveText (text: string | Buffer) {
  return (_q: string, socket: Socket): void => { socket.end(text) }
}

/** The three answers of a real IANA → ARIN → AFRINIC referral chain. */
export function splitReferralChain (): { iana: string, arin: string, afrinic: string } {
  const text = fixture('afrinic-whois-137.158.0.0.txt').toString('latin1')
  const arinAt = text.indexOf('# whois.arin.net')
  const afrinicAt = text.indexOf('# whois.afrinic.net')
  assert.ok(arinAt > 0 && afrinicAt > arinAt, 'fixture has the ARIN and AFRINIC sections')
  return {
    iana: text.slice(0, arinAt),
    arin: text.slice(text.indexOf('\n', arinAt) + 1, afrinicAt),
    afrinic: text.slice(text.indexOf('\n', afrinicAt) + 1)
  }
}

/** The error `p` rejects with; fails the test when it resolves. */
export async function rejection (p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (err) {
    return err
  }
  assert.fail('expected the lookup to fail')
}
