/**
 * Structured logs: `log.info('network stored', { cidr, registry })`. Written to stderr, one line
 * each, as JSON (`--log-format json`) or as readable text (`pretty`, the default on a terminal).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'json' | 'pretty'

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug: (msg: string, ctx?: Record<string, unknown>) => void
  info: (msg: string, ctx?: Record<string, unknown>) => void
  warn: (msg: string, ctx?: Record<string, unknown>) => void
  error: (msg: string, ctx?: Record<string, unknown>) => void
  child: (bindings: Record<string, unknown>) => Logger
}

export interface LoggerOptions {
  /** lowest level written (default info) */
  level?: LogLevel
  format?: LogFormat
  /** where lines go (default process.stderr) */
  write?: (line: string) => void
}

export function createLogger (opts: LoggerOptions = {}, bindings: Record<string, unknown> = {}): Logger {
  const min = LEVELS[opts.level ?? 'info']
  const format = opts.format ?? (process.stderr.isTTY ? 'pretty' : 'json')
  const write = opts.write ?? ((line: string) => { process.stderr.write(line + '\n') })
  const emit = (level: LogLevel, msg: string, ctx?: Record<string, unknown>): void => {
    if (LEVELS[level] < min) return
    const fields = { ...bindings, ...ctx }
    if (format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }))
    } else {
      const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
      write(`${new Date().toISOString().slice(11, 23)} ${level.padEnd(5)} ${msg}${rest === '' ? '' : ' ' + rest}`)
    }
  }
  return {
    debug: (m, c) => emit('debug', m, c),
    info: (m, c) => emit('info', m, c),
    warn: (m, c) => emit('warn', m, c),
    error: (m, c) => emit('error', m, c),
    child: (b) => createLogger(opts, { ...bindings, ...b })
  }
}

/** A logger that drops everything (tests, --quiet). */
export const silentLogger: Logger = {
  debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => silentLogger
}
