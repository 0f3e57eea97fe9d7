/**
 * The RDAP service of a node's replica (issue 16): `GET /ip/<address>` and
 * `/ip/<prefix>/<length>` answered with RFC 9083 `ip network` objects, from an AnswerSource
 * (serve/interface.ts). docs/rdap.md says what it answers and why.
 *
 *   const rdap = await startRdapServer({ host, port }, { source: storeAnswerSource(store, peerId), logger, metrics })
 *   …
 *   await rdap.close()
 */
export { startRdapServer, type RdapServer } from './server.js'
export { defaultRdapServerOptions, rdapServerOptions, type RdapServerOptions, type RdapServerComponents } from './options.js'
export { RdapListenError, RdapOptionsError } from './errors.js'
export { createRdapMetrics, type RdapMetrics } from './metrics.js'
export { RDAP_CONFORMANCE, RDAP_CONTENT_TYPE } from './objects.js'
export { parseRdapPath, type RdapQuery } from './query.js'
