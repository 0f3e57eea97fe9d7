#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner through tsx. `npm test` calls this (after the
// type check); pass file paths or substrings to run a subset: `node scripts/run-tests.js store`.
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const found = []
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p)
    else if (name.endsWith('.test.ts')) found.push(relative(root, p))
  }
}
walk(join(root, 'test'))
const filters = process.argv.slice(2)
const files = filters.length === 0 ? found : found.filter(f => filters.some(x => f.includes(x)))
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`)
  process.exit(1)
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { cwd: root, stdio: 'inherit' })
process.exit(r.status ?? 1)
