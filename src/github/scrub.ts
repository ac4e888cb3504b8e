/**
 * Keeps installation tokens out of logs and error text. git and simple-git repeat the remote URL
 * (with its `x-access-token:TOKEN@` part) in their error messages, so every message coming back
 * from a git call goes through here before anyone sees it.
 */

/** `text` with each secret replaced by `***`, and any `user:password@` of a URL dropped. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    // Short strings would blank out ordinary words; installation tokens are 40+ characters.
    if (secret.length >= 8) out = out.split(secret).join('***');
  }
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
}

/** An Error whose message and stack are scrubbed; the original (unscrubbed) cause is dropped. */
export function scrubError(error: unknown, secrets: readonly string[]): Error {
  const message = error instanceof Error ? error.message : String(error);
  const clean = new Error(scrub(message, secrets));
  clean.name = error instanceof Error ? error.name : 'Error';
  return clean;
}
