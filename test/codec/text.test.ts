/**
 * escapeText and jsonText: no control character or bidi override of a capture's text reaches a
 * terminal, and JSON keeps the exact value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeText, jsonText, quoteText } from '../../src/codec/text.js';
import { fcParams } from '../support/arbitraries.js';

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const CONTROLS = [
  ...Array.from({ length: 0x20 }, (_, c) => c),
  0x7f,
  ...Array.from({ length: 0x20 }, (_, c) => 0x80 + c),
];
const BIDI = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];

describe('escapeText', () => {
  it('writes every C0 and C1 control and DEL as \\xNN, every bidi override as \\u{NNNN}, the backslash as \\\\', () => {
    for (const c of CONTROLS) expect(escapeText(String.fromCharCode(c))).toBe(`\\x${c.toString(16).padStart(2, '0')}`);
    for (const c of BIDI) expect(escapeText(String.fromCharCode(c))).toBe(`\\u{${c.toString(16)}}`);
    expect(escapeText('C:\\dumps')).toBe('C:\\\\dumps');
    expect(escapeText('\x1b[31mred\x9b0m')).toBe('\\x1b[31mred\\x9b0m');
  });

  it('keeps everything else as it is: printable ASCII, Latin-1 letters, other scripts, emoji, the bidi marks', () => {
    const kept = ' ~AZaz09"\' é ÿ \u00a0 中文 😀 \u200e\u200f\u2028';
    expect(escapeText(kept)).toBe(kept);
  });

  it('leaves no unsafe character, and is unambiguous: distinct texts stay distinct (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(escapeText(a)).not.toMatch(UNSAFE);
        if (a !== b) expect(escapeText(a)).not.toBe(escapeText(b));
      }),
      fcParams({ numRuns: 300 }),
    );
  });

  it('quoteText escapes the quote too', () => {
    expect(quoteText('a"\x07')).toBe('"a\\"\\x07"');
  });
});

describe('jsonText', () => {
  it('writes DEL, C1 controls and bidi overrides as \\uNNNN, which JSON.stringify leaves raw', () => {
    const s = `a\x7f\x9b${String.fromCharCode(...BIDI)}b`;
    expect(JSON.stringify(s)).toMatch(UNSAFE);
    expect(jsonText(s)).toBe('"a\\u007f\\u009b\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069b"');
    expect(jsonText({ k: ['\x1b'] }, 2)).toBe('{\n  "k": [\n    "\\u001b"\n  ]\n}');
  });

  it('is JSON of the exact value, with no unsafe character in its text (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (v, s) => {
        const value = { v, s };
        const text = jsonText(value, 2);
        // (The newlines are the indentation's.)
        expect(text.replace(/\n/g, '')).not.toMatch(UNSAFE);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      fcParams({ numRuns: 300 }),
    );
  });
});
