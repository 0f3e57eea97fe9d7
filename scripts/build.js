#!/usr/bin/env node
// Compiles src/ to dist/ (tsconfig.build.json): `npm run build`, and `prepare` (`--prepare`), which
// npm runs on `npm install`/`npm ci` in a checkout and on `npm pack`. The build is incremental;
// compiled files whose source is gone are removed afterwards, so dist/ holds exactly src/.
//
// A packed release holds dist/ but neither src/ nor typescript (a devDependency, left out by
// `npm ci --omit=dev`): there `--prepare` keeps the shipped dist/ and builds nothing.
import { existsSync, readdirSync, rmSync, statSync, chmodSync, utimesSync } from 'node:fs'
import { join, relative } from 'node:path'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const src = join(root, 'src')
const dist = join(root, 'dist')
const bin = join(dist, 'cli', 'bin.js')

let tsc
try {
  tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc')
} catch {}

if (process.argv.includes('--prepare') && (tsc === undefined || !existsSync(src))) {
  if (existsSync(bin)) {
    // a release: dist/ was built before packing; in a checkout, say that it may be stale
    if (existsSync(src)) console.error('whoismesh: typescript is not installed: keeping the dist/ built before')
    process.exit(0)
  }
  console.error('whoismesh: cannot build dist/: ' + (tsc === undefined
    ? 'typescript is not installed (install without --omit=dev)'
    : 'src/ is missing'))
  process.exit(1)
}
if (tsc === undefined) {
  console.error('whoismesh: typescript is not installed: run npm install first')
  process.exit(1)
}

const walk = (dir) => readdirSync(dir).flatMap(name => {
  const p = join(dir, name)
  return statSync(p).isDirectory() ? walk(p) : [p]
})
// tsc's incremental state says nothing about outputs deleted by hand: then build everything
const missing = walk(src).some(f => f.endsWith('.ts') && !existsSync(join(dist, relative(src, f)).replace(/\.ts$/, '.js')))
if (missing) rmSync(join(dist, '.tsbuildinfo'), { force: true })

const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' })
if (r.status !== 0) process.exit(r.status ?? 1)

// drop compiled files of sources that were deleted or renamed since the last build
for (const file of walk(dist)) {
  const m = /^(.*)\.(js|d\.ts)$/.exec(relative(dist, file))
  if (m !== null && !existsSync(join(src, `${m[1]}.ts`))) rmSync(file)
}
chmodSync(bin, 0o755)
// the bin's time is the build's: test/helpers/cli.ts refuses a dist/ older than src/
const now = new Date()
utimesSync(bin, now, now)
