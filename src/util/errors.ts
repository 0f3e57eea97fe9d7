/** An error whose message is written for the user as is (the CLI prints it as one line). */
export class UserError extends Error {
  override readonly name = 'UserError'
  constructor (message: string, readonly exitCode = 2) { super(message) }
}
