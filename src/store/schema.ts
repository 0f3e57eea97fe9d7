/**
 * The store's schema version (meta "store.schemaVersion"): the key layout and encodings a data
 * directory holds. 2 adds the leaf bit, 3 the version hash, 4 the listed bit (value-format.ts). An
 * older store opens as it is and is marked 4 by its first write — in the batch that may hold its
 * first header of the new kind — so older versions refuse it rather than take the new headers for
 * damage; `repair` marks it too.
 */
import { metaKey } from './keys.js'

export const STORE_SCHEMA_VERSION = 4
/** schema versions this version opens and repairs */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2, 3, 4]
export const SCHEMA_META_KEY = 'store.schemaVersion'

export function schemaKey (): Buffer {
  return metaKey(SCHEMA_META_KEY)
}

export function isReadableSchema (version: unknown): version is number {
  return typeof version === 'number' && READABLE_SCHEMA_VERSIONS.includes(version)
}

/** Why a store of `version` is refused (`verb`: what this version does with stores: reads, repairs). */
export function unreadableSchemaReason (version: unknown, verb: 'reads' | 'repairs'): string {
  return `store schema version ${String(version)}, this whoismesh ${verb} versions ${listed(READABLE_SCHEMA_VERSIONS)}`
}

/** "1, 2, 3 and 4" */
function listed (xs: readonly number[]): string {
  return xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`
}
