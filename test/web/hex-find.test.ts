/**
 * Ctrl+F's logic without a browser: what a typed pattern means, the search's steps with their
 * progress, and Escape stopping a search between two steps (the Worker's side, Session.find, is
 * in session.test.ts; the keys in Chromium in hex.browser.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { FindResult } from '../../src/web/protocol.js';
import { HexFind, parsePattern } from '../../src/web/app/hex-find.js';

describe('parsePattern', () => {
  it.each([
    ['4a 00 ff', [0x4a, 0x00, 0xff], '4a 00 ff'],
    ['0x4A00FF', [0x4a, 0x00, 0xff], '4a 00 ff'],
    ['4a,00, ff', [0x4a, 0x00, 0xff], '4a 00 ff'],
    ['dead', [0xde, 0xad], 'de ad'],
    ["'dead'", [0x64, 0x65, 0x61, 0x64], '"dead"'],
    ['"NDIS"', [0x4e, 0x44, 0x49, 0x53], '"NDIS"'],
    ['hello', [0x68, 0x65, 0x6c, 0x6c, 0x6f], '"hello"'],
    ['4a 0', [0x34, 0x61, 0x20, 0x30], '"4a 0"'],
    ['"é"', [0xc3, 0xa9], '"é"'],
  ])('%s', (text, bytes, shown) => {
    expect(parsePattern(text)).toEqual({ bytes, shown });
  });

  it('says why it finds nothing to look for', () => {
    expect((parsePattern('  ') as Error).message).toBe('find: type hex bytes (4a 00 ff) or text ("NDIS")');
    expect((parsePattern('""') as Error).message).toBe('find: the quotes hold no text');
    expect((parsePattern('ab'.repeat(257)) as Error).message).toBe('find: 257 bytes is more than 256');
  });
});

/** HexFind over hooks whose steps the test answers one by one. */
function harness(size: number, cursor = 0) {
  const steps: { args: [number[], number, boolean]; answer: (r: FindResult) => void }[] = [];
  const said: string[] = [];
  const shown: [number, number][] = [];
  const errors: unknown[] = [];
  let typed: string | undefined;
  const find = new HexFind({
    step: (pattern, from, backwards) => new Promise((resolve) => steps.push({ args: [pattern, from, backwards], answer: resolve })),
    ask: async () => typed,
    size: () => size,
    cursor: () => cursor,
    show: (o, n) => shown.push([o, n]),
    say: (t) => said.push(t),
    error: (e) => errors.push(e),
  });
  const tick = () => new Promise((r) => setTimeout(r, 0));
  return { find, steps, said, shown, errors, tick, type: (t: string) => (typed = t), moveTo: (o: number) => (cursor = o) };
}

describe('HexFind', () => {
  it('steps until a match, saying how far it got, and shows the match; F3 goes on from the byte after the cursor', async () => {
    const h = harness(1000, 100);
    h.type('ab cd');
    const done = h.find.ask();
    await h.tick();
    expect(h.steps[0]!.args).toEqual([[0xab, 0xcd], 100, false]);
    h.steps[0]!.answer({ offset: null, next: 550, done: false });
    await h.tick();
    expect(h.said).toEqual(['searching for ab cd… 50% (Esc stops)']);
    expect(h.steps[1]!.args).toEqual([[0xab, 0xcd], 550, false]);
    h.steps[1]!.answer({ offset: 700, next: 701, done: false });
    await done;
    expect(h.shown).toEqual([[700, 2]]);
    expect(h.said.at(-1)).toBe('ab cd found at 0x000002bc (F3 next, Shift+F3 previous)');
    h.moveTo(700);
    const next = h.find.next(false);
    await h.tick();
    expect(h.steps[2]!.args).toEqual([[0xab, 0xcd], 701, false]);
    h.steps[2]!.answer({ offset: null, next: 1000, done: true });
    await next;
    expect(h.said.at(-1)).toBe('ab cd: no later match after 0x000002bd');
    const previous = h.find.next(true);
    await h.tick();
    expect(h.steps[3]!.args).toEqual([[0xab, 0xcd], 700, true]);
    h.steps[3]!.answer({ offset: 3, next: 3, done: false });
    await previous;
    expect(h.shown.at(-1)).toEqual([3, 2]);
    expect(h.errors).toEqual([]);
  });

  it('Escape between two steps stops the search: the step in flight is dropped, no further one is asked', async () => {
    const h = harness(1 << 30);
    h.type('"NDIS"');
    const done = h.find.ask();
    await h.tick();
    expect(h.find.running).toBeDefined();
    expect(h.find.cancel()).toBe(true);
    h.steps[0]!.answer({ offset: 12345, next: 12346, done: false });
    await done;
    expect(h.steps.length).toBe(1);
    expect(h.shown).toEqual([]);
    expect(h.said).toEqual(['search stopped']);
    expect(h.find.running).toBeUndefined();
    // Nothing running: Escape is left to the hex view (it clears a marked range).
    expect(h.find.cancel()).toBe(false);
  });

  it('a pattern it cannot read is an error shown, and nothing is searched', async () => {
    const h = harness(100);
    h.type('""');
    await h.find.ask();
    expect(h.steps).toEqual([]);
    expect((h.errors[0] as Error).message).toBe('find: the quotes hold no text');
  });
});
