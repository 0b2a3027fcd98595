/**
 * IP text, both ways, at the edges the generated trees rarely reach (mutation testing showed which):
 * RFC 5952 compression choices, and every way a text can fail to be an address.
 */
import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../src/errors.js';
import { formatIp, parseIp } from '../../src/tree/ip.js';

const v6 = (...words: number[]): Uint8Array => Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));

describe('formatIp', () => {
  it('writes IPv4 dotted and IPv6 as RFC 5952 does', () => {
    expect(formatIp(Uint8Array.of(192, 168, 1, 20))).toBe('192.168.1.20');
    expect(formatIp(v6(0, 0, 0, 0, 0, 0, 0, 0))).toBe('::');
    expect(formatIp(v6(0, 0, 0, 0, 0, 0, 0, 1))).toBe('::1');
    expect(formatIp(v6(1, 0, 0, 0, 0, 0, 0, 0))).toBe('1::');
    expect(formatIp(v6(0xfe80, 0, 0, 0, 0x215, 0x5dff, 0xfe4a, 0x1b2c))).toBe('fe80::215:5dff:fe4a:1b2c');
    // A lone zero word is not compressed.
    expect(formatIp(v6(1, 0, 2, 3, 4, 5, 6, 7))).toBe('1:0:2:3:4:5:6:7');
    // Two runs of the same length: the first is compressed.
    expect(formatIp(v6(1, 0, 0, 2, 3, 0, 0, 4))).toBe('1::2:3:0:0:4');
    // The longer run wins wherever it is.
    expect(formatIp(v6(1, 0, 0, 2, 0, 0, 0, 3))).toBe('1:0:0:2::3');
    expect(formatIp(v6(0, 0, 1, 2, 3, 4, 0, 0))).toBe('::1:2:3:4:0:0');
    expect(formatIp(v6(1, 2, 3, 4, 5, 6, 0, 0))).toBe('1:2:3:4:5:6::');
    expect(formatIp(v6(0xabcd, 0xef, 1, 2, 3, 4, 5, 6))).toBe('abcd:ef:1:2:3:4:5:6');
  });

  it('writes an IPv4-mapped address with its IPv4 part dotted (RFC 5952 section 5), and only that one', () => {
    expect(formatIp(v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201))).toBe('::ffff:192.0.2.1');
    expect(formatIp(v6(0, 0, 0, 0, 0, 0xffff, 0, 0))).toBe('::ffff:0.0.0.0');
    expect(formatIp(v6(0, 0, 0, 0, 0, 0xfffe, 0xc000, 0x0201))).toBe('::fffe:c000:201');
    expect(formatIp(v6(0, 0, 0, 0, 1, 0xffff, 0xc000, 0x0201))).toBe('::1:ffff:c000:201');
    expect(formatIp(v6(0, 0, 0, 0, 0, 0, 0xc000, 0x0201))).toBe('::c000:201');
  });
});

describe('parseIp', () => {
  it('reads every spelling of an address', () => {
    expect([...parseIp('0.0.0.0', 4, 'p')]).toEqual([0, 0, 0, 0]);
    expect([...parseIp('255.1.10.100', 4, 'p')]).toEqual([255, 1, 10, 100]);
    expect(parseIp('::', 16, 'p')).toEqual(v6(0, 0, 0, 0, 0, 0, 0, 0));
    expect(parseIp('::1', 16, 'p')).toEqual(v6(0, 0, 0, 0, 0, 0, 0, 1));
    expect(parseIp('1::', 16, 'p')).toEqual(v6(1, 0, 0, 0, 0, 0, 0, 0));
    expect(parseIp('1:2:3:4:5:6:7:8', 16, 'p')).toEqual(v6(1, 2, 3, 4, 5, 6, 7, 8));
    expect(parseIp('1::2:3:4:5:6:7', 16, 'p')).toEqual(v6(1, 0, 2, 3, 4, 5, 6, 7));
    expect(parseIp('FE80::0001', 16, 'p')).toEqual(v6(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    // The last two words in dotted decimal, mapped or not.
    expect(parseIp('::ffff:192.0.2.1', 16, 'p')).toEqual(v6(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201));
    expect(parseIp('::192.0.2.1', 16, 'p')).toEqual(v6(0, 0, 0, 0, 0, 0, 0xc000, 0x0201));
    expect(parseIp('1:2:3:4:5:6:7.8.9.10', 16, 'p')).toEqual(v6(1, 2, 3, 4, 5, 6, 0x0708, 0x090a));
  });

  it('reads back every IPv4-mapped address it writes', () => {
    for (const q of [[0, 0, 0, 0], [192, 0, 2, 1], [255, 255, 255, 255], [10, 0, 0, 255]]) {
      const bytes = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...q]);
      expect(parseIp(formatIp(bytes), 16, 'p')).toEqual(bytes);
    }
  });

  const bad: [string, 4 | 16][] = [
    ['1.2.3', 4],
    ['1.2.3.4.5', 4],
    ['x1.2.3.4', 4],
    ['1.2.3.4x', 4],
    ['256.1.1.1', 4],
    ['1.1.1.256', 4],
    ['1.1.1.1000', 4],
    ['', 4],
    ['1::2::3', 16],
    ['1:2:3:4:5:6:7', 16],
    ['1:2:3:4:5:6:7:8:9', 16],
    ['1:2:3:4::5:6:7:8', 16],
    ['::1:2:3:4:5:6:7:8', 16],
    ['g::1', 16],
    ['12345::1', 16],
    ['1::x2', 16],
    ['1:2:3:4:5:6:7:', 16],
    ['1.2.3.4', 16],
    ['::ffff:192.0.2.256', 16],
    ['::ffff:192.0.2', 16],
    ['1:2:3:4:5:6:7:1.2.3.4', 16],
    [':1.2.3.4', 16],
  ];
  for (const [text, bytes] of bad) {
    it(`refuses '${text}' as an IPv${bytes === 4 ? 4 : 6} address, naming the path`, () => {
      let error: unknown;
      try {
        parseIp(text, bytes, 'the.path');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(EncodeError);
      expect((error as EncodeError).path).toBe('the.path');
      expect((error as Error).message).toBe(`the.path: '${text}' is not an IPv${bytes === 4 ? 4 : 6} address`);
    });
  }
});
