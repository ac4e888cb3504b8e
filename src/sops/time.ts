/**
 * Go `time` text, as sops reads and writes it (sops-format.md §1.3, §3.3, §6.1).
 *
 * sops never does arithmetic on times: it parses a text (a YAML timestamp, a `time` plaintext, the
 * `lastmodified` field) and prints it again with a Go layout. So a time is kept as its wall-clock
 * fields plus the UTC offset it was written with, which is all Go's formatting looks at.
 */

/** A parsed time: the wall clock in its own offset, as Go's `time.Time` prints it. */
export interface GoTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0..999_999_999. */
  readonly nanosecond: number;
  /** Seconds east of UTC; 0 prints as `Z`. */
  readonly offsetSeconds: number;
}

/**
 * go-yaml v3's timestamp resolution of a plain scalar: one of the layouts `2006-1-2T15:4:5.999999999Z07:00`,
 * the same with a lowercase `t`, `2006-1-2 15:4:5.999999999` (no zone: UTC) or `2006-1-2`, tried in
 * that order with Go's `time.Parse`. Returns `undefined` when the text is not a timestamp (it is then
 * a number or a string).
 */
export function parseYamlTimestamp(text: string): GoTime | undefined {
  // go-yaml's quick check: exactly four digits, then '-'.
  if (!/^[0-9]{4}-/.test(text)) return undefined;
  return parseYamlLayout(text, 'T') ?? parseYamlLayout(text, 't') ?? parseYamlLayout(text, ' ') ?? parseYamlDate(text);
}

/**
 * Go `time.Parse(time.RFC3339, text)`: `YYYY-MM-DDTHH:MM:SS`, optional fraction, `Z` or `±hh:mm`.
 * Returns `undefined` when Go would return an error.
 */
export function parseRfc3339(text: string): GoTime | undefined {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number, number, number, number, number, number,
  ];
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  const zone = m[8] ?? 'Z';
  let offsetSeconds = 0;
  if (zone !== 'Z') {
    const hh = Number(zone.slice(1, 3));
    const mm = Number(zone.slice(4, 6));
    if (hh > 23 || mm > 59) return undefined;
    offsetSeconds = (zone.startsWith('-') ? -1 : 1) * (hh * 3600 + mm * 60);
  }
  return { year, month, day, hour, minute, second, nanosecond: nanos(m[7]), offsetSeconds };
}

/**
 * Go `time.Time.MarshalText` (layout `RFC3339Nano`): fraction with trailing zeros dropped, `Z` for a
 * zero offset, `±hh:mm` otherwise.
 */
export function formatRfc3339Nano(t: GoTime): string {
  let fraction = '';
  if (t.nanosecond !== 0) fraction = '.' + String(t.nanosecond).padStart(9, '0').replace(/0+$/, '');
  return formatDateTime(t) + fraction + formatOffset(t.offsetSeconds);
}

/** Go `t.Format(time.RFC3339)`: like {@link formatRfc3339Nano} with the fraction left out. */
export function formatRfc3339(t: GoTime): string {
  return formatDateTime(t) + formatOffset(t.offsetSeconds);
}

// --- go-yaml layouts -------------------------------------------------------------------------

/** Go's `1`/`2`/`15`/`4`/`5` layout elements: one or two digits. */
const NUM = '([0-9]{1,2})';

function parseYamlLayout(text: string, separator: 'T' | 't' | ' '): GoTime | undefined {
  // `2006-1-2 15:4:5...`: a space in a Go layout matches one or more spaces in the value.
  const sep = separator === ' ' ? ' +' : separator;
  const zone = separator === ' ' ? '' : '(Z|[+-][0-9]{2}:[0-9]{2})';
  // Go takes any number of fraction digits after '.' or ',' and keeps the first nine.
  const re = new RegExp(`^([0-9]{4})-${NUM}-${NUM}${sep}${NUM}:${NUM}:${NUM}(?:[.,]([0-9]+))?${zone}$`);
  const m = re.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number, number, number, number, number, number,
  ];
  if (!validDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetSeconds = 0;
  const z = m[8];
  if (z !== undefined && z !== 'Z') {
    const hh = Number(z.slice(1, 3));
    const mm = Number(z.slice(4, 6));
    // Go's general parser accepts offsets up to 24 hours and 60 minutes.
    if (hh > 24 || mm > 60) return undefined;
    offsetSeconds = (z.startsWith('-') ? -1 : 1) * (hh * 3600 + mm * 60);
  }
  return { year, month, day, hour, minute, second, nanosecond: nanos(m[7]), offsetSeconds };
}

function parseYamlDate(text: string): GoTime | undefined {
  const m = new RegExp(`^([0-9]{4})-${NUM}-${NUM}$`).exec(text);
  if (!m) return undefined;
  const [year, month, day] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  if (!validDate(year, month, day)) return undefined;
  return { year, month, day, hour: 0, minute: 0, second: 0, nanosecond: 0, offsetSeconds: 0 };
}

function nanos(digits: string | undefined): number {
  if (digits === undefined) return 0;
  return Number(digits.slice(0, 9).padEnd(9, '0'));
}

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= days;
}

function formatDateTime(t: GoTime): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${String(t.year).padStart(4, '0')}-${p2(t.month)}-${p2(t.day)}T${p2(t.hour)}:${p2(t.minute)}:${p2(t.second)}`;
}

function formatOffset(offsetSeconds: number): string {
  // Go prints the offset in whole minutes.
  let minutes = Math.trunc(offsetSeconds / 60);
  if (minutes === 0) return 'Z';
  const sign = minutes < 0 ? '-' : '+';
  minutes = Math.abs(minutes);
  return `${sign}${String(Math.trunc(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
