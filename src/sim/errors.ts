/** Simulator errors. Branch on `name`, which is stable. */

/** A bad simulator option: the message names the field. A user mistake, not a crash. */
export class SimulatorOptionsError extends Error {
  override readonly name = 'SimulatorOptionsError'
}

/** The dataset packages are missing or unreadable (run npm install). */
export class DatasetError extends Error {
  override readonly name = 'DatasetError'
}
