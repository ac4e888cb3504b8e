import { describe, expect, it } from 'vitest';
import { COLOUR_STYLE, isoTime, PLAIN_STYLE, styleFor, table, visibleWidth } from '../../src/demo/style.ts';

describe('styleFor', () => {
  it('colours a terminal only, and never with NO_COLOR', () => {
    expect(styleFor({ isTTY: true }, {})).toBe(COLOUR_STYLE);
    expect(styleFor({ isTTY: false }, {})).toBe(PLAIN_STYLE);
    expect(styleFor({}, {})).toBe(PLAIN_STYLE);
    expect(styleFor({ isTTY: true }, { NO_COLOR: '1' })).toBe(PLAIN_STYLE);
  });
});

describe('table', () => {
  it('aligns columns by visible width, coloured cells included, with no trailing blanks', () => {
    const lines = table(['FILE', 'STATE', 'NOTE'], [
      ['a.yaml', COLOUR_STYLE.good('current'), ''],
      ['longer/name.env', COLOUR_STYLE.warn('stale'), 'wait'],
    ]);
    expect(lines.map((line) => line.replace(/\u001b\[[0-9;]*m/g, ''))).toEqual([
      '  FILE             STATE    NOTE',
      '  a.yaml           current',
      '  longer/name.env  stale    wait',
    ]);
    expect(visibleWidth(COLOUR_STYLE.heading('abc'))).toBe(3);
  });
});

describe('isoTime', () => {
  it('prints UTC to the second', () => {
    expect(isoTime(Date.UTC(2025, 0, 6, 9, 30, 15, 250))).toBe('2025-01-06T09:30:15Z');
  });
});
