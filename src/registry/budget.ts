/**
 * Registry rate budgets: requests per second per registry, written on the command line as
 * `arin=10,ripe=10,apnic=10,lacnic=10/min,afrinic=1` (units: /s default, /min, /h).
 */
import { REGISTRY_IDS, isRegistryId, type RegistryId } from './interface.js'

export type Budgets = Record<RegistryId, number>

/**
 * Defaults: ARIN, RIPE NCC and APNIC 10/s and AFRINIC 1/s as in the 2016 crawler; LACNIC 10 per
 * minute, its documented RDAP limit (exceeding it earns a ban of about five minutes).
 */
export const DEFAULT_BUDGETS: Readonly<Budgets> = {
  arin: 10,
  ripe: 10,
  apnic: 10,
  lacnic: 10 / 60,
  afrinic: 1
}

export class BudgetParseError extends Error {
  override readonly name = 'BudgetParseError'
}

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, sec: 1, m: 60, min: 60, h: 3600, hour: 3600 }

/**
 * Parses a budget string. Registries not named keep `base`'s value. `all=N` sets every registry.
 * Throws BudgetParseError naming the bad item.
 */
export function parseBudgets (text: string, base: Readonly<Budgets> = DEFAULT_BUDGETS): Budgets {
  const out: Budgets = { ...base }
  const items = text.split(',').map(s => s.trim()).filter(s => s !== '')
  if (items.length === 0) throw new BudgetParseError(`empty budget "${text}": expected e.g. arin=10,lacnic=10/min`)
  for (const item of items) {
    const m = /^([a-z]+)\s*=\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([a-z]*))?$/i.exec(item)
    if (m == null) throw new BudgetParseError(`bad budget "${item}": expected REGISTRY=N[/s|/min|/h], e.g. lacnic=10/min`)
    const name = m[1].toLowerCase()
    const unit = (m[3] ?? '').toLowerCase()
    if (name !== 'all' && !isRegistryId(name)) {
      throw new BudgetParseError(`unknown registry "${m[1]}" in budget "${item}": expected one of ${REGISTRY_IDS.join(', ')} or all`)
    }
    const per = UNIT_SECONDS[unit]
    if (per === undefined) throw new BudgetParseError(`unknown unit "/${m[3]}" in budget "${item}": use /s, /min or /h`)
    const value = Number(m[2]) / per
    if (!(value > 0)) throw new BudgetParseError(`budget "${item}" must be greater than zero`)
    if (name === 'all') for (const id of REGISTRY_IDS) out[id] = value
    else out[name as RegistryId] = value
  }
  return out
}

/** Formats budgets back into the command-line syntax (per-minute where that reads better). */
export function formatBudgets (b: Readonly<Budgets>): string {
  return REGISTRY_IDS.map(id => {
    const v = b[id]
    return v < 1 ? `${id}=${+(v * 60).toFixed(3)}/min` : `${id}=${+v.toFixed(3)}`
  }).join(',')
}
