/**
 * Just enough OpenPGP (RFC 4880 §4, §5.1; RFC 9580 §5.1) to say whom an armored message is
 * encrypted to: the key ids of its public-key encrypted session-key packets. Used to check what
 * gpg actually did when wrapping, since its status output does not name the recipient key.
 */
import { KeySourceError } from '../errors.ts';

/** Long key ids (16 uppercase hex) of the PKESK packets at the start of an armored message. */
export function messageRecipients(armored: string): string[] {
  const bytes = dearmor(armored);
  const ids: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const packet = readPacketHeader(bytes, offset);
    // Session-key packets come first; the encrypted data follows, and nothing after it matters.
    if (packet.tag !== 1 && packet.tag !== 3) break;
    if (packet.tag === 1) {
      const version = bytes[packet.bodyStart];
      if (version === 3) {
        ids.push(hex(bytes.subarray(packet.bodyStart + 1, packet.bodyStart + 9)));
      } else if (version === 6) {
        // v6 PKESK: a length-prefixed key version + fingerprint; the key id is the fingerprint's
        // first 8 bytes for v6 keys and last 8 for v4 keys (RFC 9580 §5.1.1).
        const length = bytes[packet.bodyStart + 1] ?? 0;
        const keyVersion = bytes[packet.bodyStart + 2];
        const fpr = bytes.subarray(packet.bodyStart + 3, packet.bodyStart + 2 + length);
        ids.push(hex(keyVersion === 6 ? fpr.subarray(0, 8) : fpr.subarray(-8)));
      }
    }
    offset = packet.bodyStart + packet.bodyLength;
  }
  return ids;
}

function dearmor(armored: string): Uint8Array {
  const lines = armored.trim().split(/\r?\n/);
  if (lines[0]?.trim() !== '-----BEGIN PGP MESSAGE-----') throw malformed('no BEGIN PGP MESSAGE line');
  const blank = lines.findIndex((line) => line.trim() === '');
  if (blank < 0) throw malformed('no blank line after the armor headers');
  const body: string[] = [];
  for (const line of lines.slice(blank + 1)) {
    const text = line.trim();
    if (text.startsWith('=') || text.startsWith('-----END')) break; // CRC24 line, then the end
    body.push(text);
  }
  return new Uint8Array(Buffer.from(body.join(''), 'base64'));
}

interface PacketHeader {
  readonly tag: number;
  readonly bodyStart: number;
  readonly bodyLength: number;
}

function readPacketHeader(bytes: Uint8Array, offset: number): PacketHeader {
  const first = bytes[offset] ?? 0;
  if ((first & 0x80) === 0) throw malformed('bad packet header');
  if ((first & 0x40) === 0) {
    // Old format: tag in bits 5..2, length type in bits 1..0.
    const tag = (first >> 2) & 0x0f;
    const lengthType = first & 0x03;
    if (lengthType === 3) return { tag, bodyStart: offset + 1, bodyLength: bytes.length - offset - 1 };
    const size = 1 << lengthType;
    return { tag, bodyStart: offset + 1 + size, bodyLength: readBigEndian(bytes, offset + 1, size) };
  }
  // New format: tag in bits 5..0, then a one-, two- or five-octet length.
  const tag = first & 0x3f;
  const l0 = bytes[offset + 1] ?? 0;
  if (l0 < 192) return { tag, bodyStart: offset + 2, bodyLength: l0 };
  if (l0 < 224) return { tag, bodyStart: offset + 3, bodyLength: ((l0 - 192) << 8) + (bytes[offset + 2] ?? 0) + 192 };
  if (l0 === 255) return { tag, bodyStart: offset + 6, bodyLength: readBigEndian(bytes, offset + 2, 4) };
  // A partial length only occurs in data packets, after the session keys: stop there.
  return { tag, bodyStart: bytes.length, bodyLength: 0 };
}

function readBigEndian(bytes: Uint8Array, offset: number, size: number): number {
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + (bytes[offset + i] ?? 0);
  return value;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

function malformed(reason: string): KeySourceError {
  return new KeySourceError('malformed-enc', `not an armored OpenPGP message: ${reason}`);
}
