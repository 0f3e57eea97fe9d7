/** The machine a service benchmark ran on, as bench-whois.ts, bench-rdap.ts and bench-serve-crawl.ts report it. */
import { cpus, totalmem } from 'node:os'

export function benchMachine (): { cpus: number, cpu_model: string, memory_gib: number, node: string } {
  return { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? 'unknown', memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)), node: process.version }
}
