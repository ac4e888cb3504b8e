/** google.protobuf.Timestamp / Duration <-> epoch milliseconds. */

/** The shape proto-loader gives and accepts (seconds as a decimal string for 64-bit safety). */
export interface ProtoSeconds {
  readonly seconds: string | number;
  readonly nanos: number;
}

export function toProtoTime(ms: number): ProtoSeconds {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Undefined for an unset field (proto-loader gives null). */
export function fromProtoTime(value: ProtoSeconds | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  return Number(value.seconds) * 1000 + Math.floor((value.nanos ?? 0) / 1e6);
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
