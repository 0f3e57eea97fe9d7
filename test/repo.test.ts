/**
 * The repository itself: no file carries what an unfinished merge leaves behind (markers inside a
 * comment or a Markdown file compile and render; only a reader notices them), and nothing installed
 * or built is committed (a worktree's node_modules link once was: checking it out replaced the
 * real directory).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

test('no tracked file holds merge conflict markers', async () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0')
    .filter(f => /\.(ts|mts|js|json|md|yml|yaml|txt)$/.test(f) || f === '.ci/run')
  assert.ok(files.length > 50, `only ${files.length} tracked files found`)
  const marked: string[] = []
  for (const f of files) {
    const text = await readFile(new URL(f, new URL('..', import.meta.url)), 'utf8').catch(() => '')
    const line = text.split('\n').findIndex(l => /^(<{7}|>{7})( |$)|^={7}$/.test(l))
    if (line >= 0) marked.push(`${f}:${line + 1}`)
  }
  assert.deepEqual(marked, [], 'conflict markers left by a merge')
})

test('no installed dependency is tracked (node_modules, even as a link)', () => {
  const tracked = execFileSync('git', ['ls-files', '--', 'node_modules', 'dist'], { cwd: ROOT, encoding: 'utf8' }).trim()
  assert.equal(tracked, '', 'node_modules or dist is tracked')
})
