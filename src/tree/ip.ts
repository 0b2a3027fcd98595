/** IP addresses as network engineers write them. */
import { EncodeError } from '../errors.js';

export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const words = Array.from({ length: 8 }, (_, i) => (bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  // RFC 5952 section 5: an IPv4-mapped address (::ffff:0:0/96) ends in dotted decimal.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  // RFC 5952: compress the longest run (2 or more) of zero words, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseIp(text: string, bytes: 4 | 16, path: string): Uint8Array {
  if (bytes === 4) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
    const parts = m?.slice(1).map(Number);
    if (!parts || parts.some((p) => p > 255)) throw new EncodeError(path, `'${text}' is not an IPv4 address`);
    return Uint8Array.from(parts);
  }
  const bad = (): never => {
    throw new EncodeError(path, `'${text}' is not an IPv6 address`);
  };
  // A dotted-decimal IPv4 address may stand for the last two words (RFC 4291 2.2, form 3).
  const dotted = /^(.*:)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  let v6 = text;
  if (dotted) {
    const q = dotted[2]!.split('.').map(Number);
    if (q.some((p) => p > 255)) bad();
    v6 = `${dotted[1]}${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const halves = v6.split('::');
  if (halves.length > 2) bad();
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => (/^[0-9a-f]{1,4}$/i.test(w) ? Number.parseInt(w, 16) : bad())));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) bad();
  const words = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));
}
