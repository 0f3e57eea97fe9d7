/** A service could not listen where it was asked to (address in use, no permission): an operator's choice to change. */
export class ServeListenError extends Error {
  override readonly name = 'ServeListenError'
  constructor (readonly service: string, readonly at: { host: string, port: number }, cause: any) {
    super(`cannot serve ${service} on ${at.host}:${at.port}: ${String(cause?.code ?? cause?.message ?? cause)}${cause?.code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE: pick a port above 1023)' : ''}`)
  }
}
