/** Errors of the fleet's rules: each is a bad configuration, named by its field. */

/** Ownership options out of range (prefixLength). */
export class OwnershipError extends Error {
  override readonly name = 'OwnershipError'
}

/** BudgetShare options out of range (budgets, safety, timings, maxPeers). */
export class BudgetShareError extends Error {
  override readonly name = 'BudgetShareError'
}
