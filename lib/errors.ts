/**
 * A mistake in what the user gave (an option, a file, a text): the CLI prints its message as
 * one line, without a stack trace, and exits with code 2.
 */
export class UserError extends Error {
  override name = 'UserError';
}
