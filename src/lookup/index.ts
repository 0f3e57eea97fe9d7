/**
 * lookup: asking the registries about an address. `RegistryClient` is the entry point; the
 * protocol clients and parsers are exported for tools and tests.
 */
export * from './interface.js'
export * from './errors.js'
export { parseRdapNetwork } from './rdap-parser.js'
export { parseWhoisAnswer } from './whois-parser.js'
export { RdapClient, rdapIpUrl, parseRetryAfter, type RdapClientOptions, type RdapClientModules, type RdapReply } from './rdap-client.js'
export { WhoisClient, whoisQuery, type WhoisClientOptions, type WhoisReply } from './whois-client.js'
export {
  RegistryClient,
  registryClientDefaults,
  resolveRegistryClientOptions,
  formatUserAgent,
  type RegistryClientOptions,
  type RegistryClientModules,
  type RegistryRequestEvent,
  type RequestOutcome,
  type LookupProtocol,
  type LookupResult
} from './client.js'
export {
  canList, listingMethod, listsByPrefix, parseRdapListing, parseRpslListing, prefixLengthOf, rdapDownPath, rpslListingQuery,
  type ChildListing, type ListedContainer, type ListingMethod
} from './listing.js'
