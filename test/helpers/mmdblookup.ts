/**
 * Debian's `mmdblookup` (package mmdb-bin, libmaxminddb's own lookup tool) run on an MMDB file,
 * its printout parsed back into a value. It prints a map as `{`, then per key a line `"key": ` and
 * the value below it, then `}`; a string raw between double quotes (no escaping: a string may span
 * lines), then its type (`"…" <utf8_string>`, `true <boolean>`, `4000 <uint32>`).
 */
import { spawn, spawnSync } from 'node:child_process'

/** Whether mmdblookup is installed. */
export function hasMmdblookup (): boolean {
  return spawnSync('mmdblookup', ['--version'], { encoding: 'utf8' }).status === 0
}

export interface MmdblookupResult {
  /** the record, or null when mmdblookup found no entry */
  record: unknown
  /** "Record prefix length" (printed with -v): the prefix of the tree leaf, in IPv6 bits */
  prefixLength?: number
}

/** Looks `ip` up in `file`; rejects on any other mmdblookup error. */
export async function mmdblookup (file: string, ip: string): Promise<MmdblookupResult> {
  const { code, stdout, stderr } = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve, reject) => {
    const child = spawn('mmdblookup', ['-f', file, '-i', ip, '-v'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    child.on('error', reject)
    child.on('close', code => resolve({ code, stdout, stderr }))
  })
  const prefix = /Record prefix length: (\d+)/.exec(stdout)
  const prefixLength = prefix == null ? undefined : Number(prefix[1])
  if (/Could not find an entry for this IP address/.test(stdout + stderr)) return { record: null, prefixLength }
  if (code !== 0) throw new Error(`mmdblookup -i ${ip} exited ${String(code)}: ${stderr}${stdout}`)
  // the record is what follows the metadata and the prefix line
  const body = stdout.slice(prefix == null ? 0 : (prefix.index + prefix[0].length))
  return { record: parseDump(body), prefixLength }
}

/** Parses libmaxminddb's dump of one entry (MMDB_dump_entry_data_list's format). */
export function parseDump (text: string): unknown {
  const lines = text.split('\n')
  let i = 0
  const next = (): string => {
    while (i < lines.length && lines[i].trim() === '') i++
    if (i >= lines.length) throw new Error(`mmdblookup output ended early:\n${text}`)
    return lines[i++]
  }
  const value = (): unknown => {
    const line = next()
    const t = line.trim()
    if (t === '{') {
      const map: Record<string, unknown> = {}
      for (;;) {
        const k = next()
        if (k.trim() === '}') return map
        const m = /^\s*"(.*)": ?$/.exec(k)
        if (m == null) throw new Error(`not a key line: ${JSON.stringify(k)}`)
        map[m[1]] = value()
      }
    }
    if (t === '[') {
      const items: unknown[] = []
      for (;;) {
        if (lines[i]?.trim() === ']') { i++; return items }
        items.push(value())
      }
    }
    if (line.trimStart().startsWith('"')) {
      // raw bytes up to the `" <utf8_string>` that ends the last line of the string
      let s = line.trimStart().slice(1)
      while (!s.endsWith('" <utf8_string>')) {
        if (i >= lines.length) throw new Error(`unterminated string in mmdblookup output:\n${text}`)
        s += '\n' + lines[i++]
      }
      return s.slice(0, -'" <utf8_string>'.length)
    }
    const b = /^(true|false) <boolean>$/.exec(t)
    if (b != null) return b[1] === 'true'
    const n = /^(\d+) <uint(?:16|32|64)>$/.exec(t)
    if (n != null) return Number(n[1])
    throw new Error(`unknown value line in mmdblookup output: ${JSON.stringify(line)}`)
  }
  return value()
}
