/**
 * The status lines of WHOIS answers that carry no network: refusals (bans and rate limits) and
 * "not found". They are read from comment and free-text lines only (and from "key: value" lines
 * whose key is a message word such as "error:"), never from object attributes, so a network
 * named "LIMITS-NET" or a remark about denied access is still a network.
 *
 * A refusal is never a malformed answer: a ban or a rate limit is met with a pause of the
 * registry and a retry (RateLimitedError), where a malformed answer is retried once and given up.
 * Two tiers:
 *
 * 1. The wordings the registries are known to use, wherever they appear in the answer:
 *    - RIPE NCC's server (`QueryMessages.java` in RIPE-NCC/whois; APNIC's and AFRINIC's servers
 *      are built on it, and Net::Whois::IANA checks the same codes there):
 *      `%ERROR:201: access denied for <ip>` followed by "Sorry, access from your host has been
 *      permanently denied because of a repeated excessive querying." or "Queries from your IP
 *      address have passed the daily limit of controlled objects. Access from your host has been
 *      temporarily denied." (AFRINIC: the daily limit of 5,000 person objects, blocked up to 24 h)
 *      → banned; "Your host <ip> has been blocked. Please contact support …" → banned;
 *      `%ERROR:203: you are not allowed to act as a proxy` → banned; `%ERROR:306: connections
 *      exceeded` / "Number of connections from a single IP address has exceeded the maximum
 *      number allowed (3)." → rate-limited; the older `%ERROR:202: access control limit reached`
 *      → rate-limited.
 *    - LACNIC (Net::Whois::IANA, ipwhois): "% Query rate limit exceeded" → rate-limited;
 *      "% Permission denied" and a "%201 …" line → banned.
 *    - NIC.br (whois.registro.br, also relayed by LACNIC's Joint Whois; SPFBL's parser of its
 *      answers): "% Permission denied." / "% Permissão negada." → banned; "% Query rate limit
 *      exceeded" (also "… Reduced information.", an answer with the contacts left out) and
 *      "% Maximum concurrent connections limit exceeded" → rate-limited.
 *    - ARIN (port 43): what other crawlers check for — a "#201" line (Net::Whois::IANA) → banned;
 *      "query limit" with "exceeded", "wait a while and try again" (netgeo) → rate-limited.
 *    - Generic texts of other servers: "Query rate limit exceeded", "Excessive querying", "too many
 *      queries", … with a time when the text gives one ("Retry after 300 seconds", "try again in
 *      5 minutes").
 * 2. An answer with no network, no referral and no not-found, whose status line says the query was
 *    refused, denied, blocked or not permitted (in English or Portuguese) is a ban, and one that
 *    speaks of a limit, a quota or too many queries is a rate limit — whatever the exact wording,
 *    which registries change without notice. Only what would otherwise be a MalformedResponseError
 *    is read this way.
 */
import type { TextObject } from './parse-util.js'
import type { WhoisAnswer } from './interface.js'

const BANNED = [
  /\bERROR:20[13]\b/i,
  // "%201 access denied" (LACNIC, APNIC, AFRINIC) and "#201 …" (ARIN): the code without "ERROR:"
  /^201(?::\s*|\s+)[a-z]/i,
  /\bpermanently denied\b/i,
  /\baccess (?:from your host )?has been (?:temporarily |permanently )?denied\b/i,
  /\baccess denied\b/i,
  /\bpermission denied\b/i,
  /\bpermiss[ãa]o negada\b/i,
  /\byour host \S+ has been blocked\b/i,
  /\byou are not allowed to (?:connect|act as a proxy)\b/i
]

const RATE_LIMITED = [
  /\bERROR:202\b/i,
  /\bERROR:306\b/i,
  /\bconnections exceeded\b/i,
  /\bhas exceeded the maximum number allowed\b/i,
  /\bpassed the daily limit\b/i,
  /\bquery rate limit exceeded\b/i,
  /\brate limit (?:exceeded|reached)\b/i,
  /\bexcessive querying\b/i,
  /\btoo many (?:queries|requests|connections)\b/i,
  /\b(?:query|queries|connection|request) (?:limit|quota) (?:exceeded|reached)\b/i,
  /\bquery limit\b.*\bexceeded\b/i,
  /\bquota exceeded\b/i,
  /\bexceeded (?:the )?(?:allowed|maximum) (?:query|connection|request)/i,
  /\blimit exceeded\b/i,
  /\bwait a while and try again\b/i
]

/** Tier 2: a status line that refuses the query, in an answer with nothing else in it. */
const REFUSED = /\b(?:refused|denied|blocked|blacklisted|banned|forbidden|not (?:allowed|permitted)|negad[ao]|recusad[ao]|bloquead[ao])\b/i
const LIMITED = /\b(?:limit|limits|limited|quota|exceeded|too many|excessive|slow down|excedid[ao])\b/i

const NOT_FOUND = [
  /\bERROR:101\b/i,
  /\bno entries found\b/i,
  /\bno match(?:es)? found\b/i,
  /^no match for\b/i
]

/** Keys under which a server might print a status line as "key: value" rather than as a comment. */
const MESSAGE_KEYS = new Set(['error', 'warning', 'note', 'notice', 'message', 'info'])

/** The status lines of an answer: its comment and free-text lines, and its message-keyed attributes. */
function statusLines (messages: string[], objects: TextObject[]): string[] {
  return [
    ...messages,
    ...objects.flatMap(o => o.attrs.filter(a => MESSAGE_KEYS.has(a.key)).map(a => `${a.key}: ${a.value}`))
  ].filter(l => l !== '')
}

/** Tier 1: a ban or a rate limit in one of the known wordings, wherever it is in the answer. */
export function knownRefusal (messages: string[], objects: TextObject[]): WhoisAnswer | undefined {
  const lines = statusLines(messages, objects)
  const banned = lines.find(l => BANNED.some(re => re.test(l)))
  const limited = banned === undefined ? lines.find(l => RATE_LIMITED.some(re => re.test(l))) : undefined
  return refusal(lines, banned, limited)
}

/**
 * Tier 2, for an answer that holds no network, referral or not-found: a status line that refuses
 * the query (a ban) or speaks of a limit (a rate limit), in any wording.
 */
export function refusalNotice (messages: string[], objects: TextObject[]): WhoisAnswer | undefined {
  const lines = statusLines(messages, objects)
  const banned = lines.find(l => REFUSED.test(l))
  const limited = banned === undefined ? lines.find(l => LIMITED.test(l)) : undefined
  return refusal(lines, banned, limited)
}

function refusal (lines: string[], banned: string | undefined, limited: string | undefined): WhoisAnswer | undefined {
  const hit = banned ?? limited
  if (hit === undefined) return undefined
  let retryAfterMs: number | undefined
  for (const l of lines) {
    retryAfterMs = retryAfterMsOf(l)
    if (retryAfterMs !== undefined) break
  }
  const message = hit.replace(/\s+/g, ' ').slice(0, 200)
  const kind = banned !== undefined ? 'banned' : 'rate-limited'
  return retryAfterMs !== undefined ? { kind, retryAfterMs, message } : { kind, message }
}

const RETRY_AFTER = /\b(?:retry|try again|wait|again)\b\D{0,30}?(\d+(?:\.\d+)?)\s*(milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b/i

/** "Retry after 300 seconds" → 300000; "try again in 5 minutes" → 300000; no time → undefined. */
export function retryAfterMsOf (line: string): number | undefined {
  const m = RETRY_AFTER.exec(line)
  if (m == null) return undefined
  const n = Number(m[1])
  const unit = m[2].toLowerCase()
  const factor = unit.startsWith('ms') || unit.startsWith('milli')
    ? 1
    : unit.startsWith('h')
      ? 3_600_000
      : unit.startsWith('m')
        ? 60_000
        : 1000
  const ms = Math.round(n * factor)
  return Number.isFinite(ms) && ms > 0 ? ms : undefined
}

/** "%ERROR:101: no entries found", "No match found for …", "No match for …" → not-found. */
export function notFoundAnswer (messages: string[]): WhoisAnswer | undefined {
  const hit = messages.find(l => NOT_FOUND.some(re => re.test(l)))
  return hit === undefined ? undefined : { kind: 'not-found', message: hit.replace(/\s+/g, ' ').slice(0, 200) }
}
