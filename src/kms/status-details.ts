/**
 * Decoding of the `grpc-status-details-bin` trailer: a serialized `google.rpc.Status` whose
 * `details` are `google.protobuf.Any`s. Only `google.rpc.PreconditionFailure` is decoded: it is
 * where Cloud KMS names the key version that is not enabled.
 *
 * A hand-written wire decoder (a few dozen lines) rather than the protobufjs types google-gax
 * loads: gax only decodes details on some code paths and its decoded shape is not part of its API.
 */

const PRECONDITION_FAILURE_TYPE = 'type.googleapis.com/google.rpc.PreconditionFailure';

/** One `google.rpc.PreconditionFailure.Violation`. */
export interface PreconditionViolation {
  readonly type: string;
  readonly subject: string;
  readonly description: string;
}

/**
 * The violations of every `PreconditionFailure` detail in a serialized `google.rpc.Status`.
 * Returns `[]` for bytes that do not decode: the caller then falls back to the message.
 */
export function preconditionViolations(statusBytes: Uint8Array): PreconditionViolation[] {
  try {
    const violations: PreconditionViolation[] = [];
    for (const field of readFields(statusBytes)) {
      if (field.no !== 3 || field.bytes === undefined) continue; // Status.details
      const any = readAny(field.bytes);
      if (any.typeUrl !== PRECONDITION_FAILURE_TYPE) continue;
      for (const v of readFields(any.value)) {
        if (v.no === 1 && v.bytes !== undefined) violations.push(readViolation(v.bytes));
      }
    }
    return violations;
  } catch {
    return [];
  }
}

/** Encodes a `google.rpc.Status` with PreconditionFailure details (for tests and the emulator). */
export function encodePreconditionFailureStatus(
  code: number,
  message: string,
  violations: readonly PreconditionViolation[],
): Uint8Array {
  const failure = concat(
    violations.map((v) =>
      lengthDelimited(1, concat([stringField(1, v.type), stringField(2, v.subject), stringField(3, v.description)])),
    ),
  );
  const any = concat([stringField(1, PRECONDITION_FAILURE_TYPE), lengthDelimited(2, failure)]);
  return concat([varintField(1, code), stringField(2, message), lengthDelimited(3, any)]);
}

interface Field {
  readonly no: number;
  readonly bytes?: Uint8Array;
}

function readAny(bytes: Uint8Array): { typeUrl: string; value: Uint8Array } {
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array();
  for (const f of readFields(bytes)) {
    if (f.no === 1 && f.bytes !== undefined) typeUrl = utf8(f.bytes);
    if (f.no === 2 && f.bytes !== undefined) value = f.bytes;
  }
  return { typeUrl, value };
}

function readViolation(bytes: Uint8Array): PreconditionViolation {
  const text: Record<number, string> = {};
  for (const f of readFields(bytes)) {
    if (f.bytes !== undefined) text[f.no] = utf8(f.bytes);
  }
  return { type: text[1] ?? '', subject: text[2] ?? '', description: text[3] ?? '' };
}

function* readFields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = buf[pos++];
      if (byte === undefined) throw new Error('truncated varint');
      // Lengths and field numbers fit in 53 bits; larger values are not needed here.
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      varint();
      yield { no };
    } else if (wire === 1) {
      pos += 8;
      yield { no };
    } else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new Error('truncated field');
      yield { no, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 5) {
      pos += 4;
      yield { no };
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    if (pos > buf.length) throw new Error('truncated field');
  }
}

function utf8(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

function encodeVarint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function varintField(no: number, value: number): Uint8Array {
  return concat([encodeVarint(no * 8), encodeVarint(value)]);
}

function lengthDelimited(no: number, bytes: Uint8Array): Uint8Array {
  return concat([encodeVarint(no * 8 + 2), encodeVarint(bytes.length), bytes]);
}

function stringField(no: number, text: string): Uint8Array {
  return lengthDelimited(no, new TextEncoder().encode(text));
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
