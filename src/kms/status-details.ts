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
