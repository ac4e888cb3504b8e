/**
 * Reading what gpg says on its status channel (`--status-fd`, gnupg `doc/DETAILS`) and on its
 * log. Pure: text in, facts out. gpg's stderr never holds the plaintext (that goes to stdout), so
 * summarising it in an error is safe.
 */

/** One `[GNUPG:] KEYWORD args…` line. */
export interface StatusLine {
  readonly keyword: string;
  readonly args: readonly string[];
}

export interface GpgOutput {
  readonly status: readonly StatusLine[];
  /** The human-readable log lines (`gpg: …`), without status lines. */
  readonly log: readonly string[];
}

const STATUS_PREFIX = '[GNUPG:] ';

/** Splits stderr of a gpg run with `--status-fd 2` into status lines and log lines. */
export function parseGpgOutput(stderr: string): GpgOutput {
  const status: StatusLine[] = [];
  const log: string[] = [];
  for (const line of stderr.split(/\r?\n/)) {
    if (line.startsWith(STATUS_PREFIX)) {
      const [keyword = '', ...args] = line.slice(STATUS_PREFIX.length).trim().split(' ');
      status.push({ keyword, args });
    } else if (line.trim() !== '') {
      log.push(line.trim());
    }
  }
  return { status, log };
}

export function firstStatus(output: GpgOutput, keyword: string): StatusLine | undefined {
  return output.status.find((line) => line.keyword === keyword);
}

export function hasStatus(output: GpgOutput, keyword: string): boolean {
  return firstStatus(output, keyword) !== undefined;
}

/** gpg writes an all-zero key id in `ENC_TO` for a hidden recipient (`--throw-keyids`). */
const HIDDEN_KEY_ID = '0000000000000000';

/** The long key ids a message is encrypted to, `hidden` for an anonymous recipient. */
export function recipientKeyIds(output: GpgOutput): string[] {
  return output.status
    .filter((line) => line.keyword === 'ENC_TO')
    .map((line) => (line.args[0] === HIDDEN_KEY_ID ? 'hidden' : (line.args[0] ?? 'unknown')));
}

/**
 * Which key opened the message: the primary fingerprint from `DECRYPTION_KEY <subkey> <primary>`
 * (recent gpg 2.x), else the subkey, else the single `ENC_TO` key id.
 */
export function decryptingKey(output: GpgOutput): string | undefined {
  const line = firstStatus(output, 'DECRYPTION_KEY');
  if (line !== undefined) return line.args[1] ?? line.args[0];
  const ids = recipientKeyIds(output).filter((id) => id !== 'hidden');
  return ids.length === 1 ? ids[0] : undefined;
}

/** `INV_RECP` reason codes (DETAILS, "INV_RECP, INV_SGNR"). */
const INVALID_RECIPIENT_REASONS: Record<string, string> = {
  '0': 'no specific reason given',
  '1': 'not found',
  '2': 'ambiguous specification',
  '3': 'wrong key usage',
  '4': 'key revoked',
  '5': 'key expired',
  '6': 'no CRL known',
  '7': 'CRL too old',
  '8': 'policy mismatch',
  '9': 'not a secret key',
  '10': 'key not trusted',
  '11': 'missing certificate',
  '12': 'missing issuer certificate',
  '13': 'key disabled',
  '14': 'syntax error in specification',
};

export function invalidRecipientReason(line: StatusLine): string {
  return INVALID_RECIPIENT_REASONS[line.args[0] ?? ''] ?? `reason ${line.args[0] ?? 'unknown'}`;
}

/** The last few log lines, for an error message; bounded so one failure cannot flood a log. */
export function summariseLog(output: GpgOutput, max = 3): string {
  const lines = output.log
    .map((line) => line.replace(/^gpg: /, ''))
    // The scdaemon probe is noise on machines without a smartcard daemon.
    .filter((line) => !line.includes('scdaemon'));
  const text = lines.slice(-max).join('; ');
  return text.length > 400 ? `${text.slice(0, 400)}…` : text || 'no message';
}
