/**
 * A mistake in what the user gave (an option, a file, a text): the CLI prints its message as
 * one line, without a stack trace, and exits with code 2. The message is kept to one line here,
 * whatever a file put into it: control characters become \uXXXX escapes.
 */
export class UserError extends Error {
  override name = 'UserError';

  constructor(message: string) {
    super(oneLine(message));
  }
}

/** Control characters (from file names, file contents or JSON errors) as \uXXXX escapes. */
export function oneLine(message: string): string {
  const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  return message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, escape);
}
