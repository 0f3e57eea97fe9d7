/**
 * whoismesh's version, read from package.json — the one place it is written. Sent in the
 * User-Agent (lookup/client.ts), in every heartbeat (node/node.ts) and printed by `--version`.
 * The path is the same from src/version.ts (tsx) and dist/version.js (the built package).
 */
import { createRequire } from 'node:module'

export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version
