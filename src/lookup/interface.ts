import type { ParsedNetwork } from '../record/index.js'
import type { RegistryId } from '../registry/interface.js'

/** Outcome of parsing a WHOIS port-43 answer. */
export type WhoisAnswer =
  | { kind: 'network', network: ParsedNetwork }
  /** the answer points elsewhere ("ReferralServer: whois://whois.ripe.net", "Transferred to AfriNIC", ResourceLink) */
  | { kind: 'referral', registry?: RegistryId, host?: string, port?: number }
  | { kind: 'not-found', message: string }
  | { kind: 'rate-limited', retryAfterMs?: number, message: string }
  | { kind: 'banned', retryAfterMs?: number, message: string }
