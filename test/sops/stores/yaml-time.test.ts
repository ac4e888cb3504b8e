import { describe, expect, it } from 'vitest';
import { formatRfc3339, formatRfc3339Nano, parseRfc3339, parseYamlTimestamp } from '../../../src/sops/time.ts';

const nano = (text: string) => {
  const t = parseYamlTimestamp(text);
  return t && formatRfc3339Nano(t);
};

describe('YAML timestamps as go-yaml v3 reads them, printed as Go MarshalText', () => {
  it.each([
    ['2024-01-01', '2024-01-01T00:00:00Z'],
    ['2024-2-29', '2024-02-29T00:00:00Z'],
    ['2024-01-01T1:2:3Z', '2024-01-01T01:02:03Z'],
    ['2024-01-01T10:20:30.500Z', '2024-01-01T10:20:30.5Z'],
    ['2024-01-01T10:20:30.000Z', '2024-01-01T10:20:30Z'],
    ['2024-01-01T10:20:30,25+02:00', '2024-01-01T10:20:30.25+02:00'],
    ['2024-01-01T10:20:30-00:00', '2024-01-01T10:20:30Z'],
    ['2024-01-01t10:20:30+05:30', '2024-01-01T10:20:30+05:30'],
    ['2024-01-01 10:20:30', '2024-01-01T10:20:30Z'],
    ['2024-01-01   10:20:30.1234567891', '2024-01-01T10:20:30.123456789Z'],
  ])('%s → %s', (text, want) => {
    expect(nano(text)).toBe(want);
  });

  it.each([
    '2023-02-29', // not a leap year
    '2024-00-10',
    '2024-01-32',
    '2024-01-01T24:00:00Z',
    '2024-01-01T10:60:00Z',
    '2024-01-01T10:20:30z', // lowercase zone letter
    '2024-01-01T10:20:30+0200', // offset without colon
    '2024-01-01 10:20:30Z', // the space form takes no zone
    '2024-01-01T10:20', // seconds are required
    '24-01-01',
    '2024/01/01',
  ])('%s is not a timestamp', (text) => {
    expect(parseYamlTimestamp(text)).toBeUndefined();
  });
});

describe('RFC 3339 (Go time.RFC3339)', () => {
  it('parses what sops writes and formats it back without a fraction', () => {
    const t = parseRfc3339('2026-05-22T20:16:23Z');
    expect(t && formatRfc3339(t)).toBe('2026-05-22T20:16:23Z');
    const withFraction = parseRfc3339('2026-05-22T20:16:23.987+01:00');
    expect(withFraction && formatRfc3339(withFraction)).toBe('2026-05-22T20:16:23+01:00');
    expect(withFraction && formatRfc3339Nano(withFraction)).toBe('2026-05-22T20:16:23.987+01:00');
  });

  it('needs two-digit fields and a T', () => {
    expect(parseRfc3339('2026-5-22T20:16:23Z')).toBeUndefined();
    expect(parseRfc3339('2026-05-22 20:16:23Z')).toBeUndefined();
    expect(parseRfc3339('2026-05-22T20:16:23')).toBeUndefined();
  });
});
