/** A raw WHOIS client for simulator tests: one query line, then read until the server closes. */
import { connect } from 'node:net'

export interface WhoisResult { text: string, error?: string, bytes: number }

/**
 * Sends `line` to 127.0.0.1:`port` and reads the answer. Reading stops with error 'too-large'
 * past `maxBytes` (default 4 MiB; Infinity reads everything); only the first `keepBytes` are
 * kept in `text` (default: all that is read), while `bytes` counts every byte received.
 */
export async function whois (port: number, line: string, o: { maxBytes?: number, keepBytes?: number } = {}): Promise<WhoisResult> {
  const maxBytes = o.maxBytes ?? 4 * 2 ** 20
  const keepBytes = o.keepBytes ?? maxBytes
  return await new Promise(resolve => {
    const chunks: Buffer[] = []
    let bytes = 0
    let settled = false
    const done = (error?: string): void => {
      if (settled) return
      settled = true
      socket.destroy()
      resolve({ text: Buffer.concat(chunks).toString('utf8'), error, bytes })
    }
    const socket = connect(port, '127.0.0.1', () => socket.write(`${line}\r\n`))
    socket.on('data', (d: Buffer) => {
      if (bytes < keepBytes) chunks.push(d)
      bytes += d.length
      if (bytes > maxBytes) done('too-large')
    })
    socket.on('end', () => done())
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message))
    socket.on('close', () => done('closed'))
  })
}
