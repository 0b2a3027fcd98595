/**
 * The diagnostic limit hides nothing: errors and warnings are never displaced by notes, repeated
 * notes of a code are summarised (count, first and last path), every diagnostic is listed or
 * counted, and a document that stays under the limit is the list of everything found, unchanged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DIAGNOSTIC_CODES,
  DIAGNOSTIC_SEVERITY,
  DiagnosticLog,
  NOTES_LISTED_PER_CODE,
  SegmentImage,
  blockOffsets,
  decodeTree,
  diagnosticCounts,
  encodeTree,
  type Diagnostic,
  type DiagnosticCode,
  type Severity,
} from '../../src/index.js';
import { X64 } from '../../src/layout/abi.js';
import { fcParams, treeCaseArb } from '../support/arbitraries.js';

const FOUND = DIAGNOSTIC_CODES.filter((c) => c !== 'DIAGNOSTICS_LIMIT');

/** What a log given `events` in this order with this limit produces. */
function logOf(events: readonly Diagnostic[], max: number): Diagnostic[] {
  const log = new DiagnosticLog(max);
  for (const d of events) if (log.take(d.severity, d.code, d.path)) log.keep(d);
  return log.finish({ path: 'blocks', address: '0x0' });
}

const diag = (code: DiagnosticCode, i: number): Diagnostic => ({
  severity: DIAGNOSTIC_SEVERITY[code],
  code,
  message: `m${i}`,
  path: `blocks[${i}]`,
  address: `0x${i.toString(16)}`,
  offset: i,
});

/** Codes weighted towards notes, as a decode without --operation gives them. */
const eventsArb = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom<DiagnosticCode>('STATE_INFERRED', 'CONTEXT_OUTSIDE_IMAGE') },
      { weight: 1, arbitrary: fc.constantFrom(...FOUND) },
    ),
    { maxLength: 400 },
  )
  .map((codes) => codes.map((c, i) => diag(c, i)));

/** The rule, checked on what a log gave for `events`. */
function checkRule(events: readonly Diagnostic[], out: readonly Diagnostic[], max: number): void {
  const listed = out.filter((d) => d.count === undefined && d.code !== 'DIAGNOSTICS_LIMIT');
  const summaries = out.filter((d) => d.count !== undefined);
  // Under the limit: everything, as found.
  if (events.length <= max) {
    expect(out).toEqual(events);
    return;
  }
  // Listed diagnostics are diagnostics found, in the order found, at most `max` of them.
  expect(listed.length).toBeLessThanOrEqual(max);
  const found = events.map((d) => JSON.stringify(d));
  let j = 0;
  for (const d of listed) {
    const text = JSON.stringify(d);
    while (j < found.length && found[j] !== text) j++;
    expect(j < found.length, `${text} is not among the diagnostics found, in order`).toBe(true);
    j++;
  }
  // Each code: listed + counted = found; its listed ones come first, its summary names the rest's first and last path.
  for (const code of FOUND) {
    const all = events.filter((d) => d.code === code);
    const mine = listed.filter((d) => d.code === code);
    const summary = summaries.filter((d) => d.code === code);
    expect(summary.length).toBeLessThanOrEqual(1);
    expect(mine.length + (summary[0]?.count ?? 0), code).toBe(all.length);
    expect(mine).toEqual(all.slice(0, mine.length));
    if (summary[0]) {
      const rest = all.slice(mine.length);
      expect(summary[0].path).toBe(rest[0]!.path);
      expect(summary[0].address).toBe(rest[0]!.address);
      expect(summary[0].lastPath).toBe(rest[rest.length - 1]!.path);
      expect(summary[0].severity).toBe(DIAGNOSTIC_SEVERITY[code]);
    }
    if (DIAGNOSTIC_SEVERITY[code] === 'info') expect(mine.length).toBeLessThanOrEqual(NOTES_LISTED_PER_CODE);
  }
  // No note listed while a warning or an error is not; no warning listed while an error is not.
  const summarised = (s: Severity): boolean => summaries.some((d) => d.severity === s);
  if (listed.some((d) => d.severity === 'info')) expect(summarised('error') || summarised('warning')).toBe(false);
  if (listed.some((d) => d.severity === 'warning')) expect(summarised('error')).toBe(false);
  // Every error and warning is listed when there is room for them all.
  const problems = events.filter((d) => d.severity !== 'info');
  if (problems.length <= max) expect(listed.filter((d) => d.severity !== 'info')).toEqual(problems);
  // The counts are the true counts; DIAGNOSTICS_LIMIT exactly when errors or warnings are only counted.
  const truth = { error: 0, warning: 0, info: 0 };
  for (const d of events) truth[d.severity]++;
  expect(diagnosticCounts(out)).toEqual(truth);
  expect(out.some((d) => d.code === 'DIAGNOSTICS_LIMIT')).toBe(summarised('error') || summarised('warning'));
  if (out.some((d) => d.code === 'DIAGNOSTICS_LIMIT')) expect(out[out.length - 1]!.code).toBe('DIAGNOSTICS_LIMIT');
}

describe('DiagnosticLog', () => {
  it('for any diagnostics in any order and any limit: every one listed or counted, errors and warnings first, true counts', () => {
    fc.assert(
      fc.property(eventsArb, fc.integer({ min: 1, max: 60 }), (events, max) => checkRule(events, logOf(events, max), max)),
      fcParams({ numRuns: 500 }),
    );
  });

  it('keeps counts, not lists: a million notes and errors leave at most the limit plus one summary per code', () => {
    const log = new DiagnosticLog(1000);
    const codes: DiagnosticCode[] = ['STATE_INFERRED', 'STATE_INFERRED', 'STATE_INFERRED', 'CYCLE', 'HEADER_SIZE_MISMATCH'];
    for (let i = 0; i < 1_000_000; i++) {
      const code = codes[i % codes.length]!;
      if (log.take(DIAGNOSTIC_SEVERITY[code], code, `blocks[${i}]`)) log.keep(diag(code, i));
    }
    const out = log.finish({ path: 'blocks', address: '0x0' });
    expect(out.length).toBeLessThanOrEqual(1000 + 3 + 1);
    expect(diagnosticCounts(out)).toEqual({ error: 200_000, warning: 200_000, info: 600_000 });
    // Errors took every place: no warning or note is listed.
    expect(out.filter((d) => d.count === undefined && d.code !== 'DIAGNOSTICS_LIMIT').every((d) => d.code === 'CYCLE')).toBe(true);
    expect(out.find((d) => d.code === 'STATE_INFERRED')).toMatchObject({ count: 600_000, path: 'blocks[0]', lastPath: 'blocks[999997]' });
  });
});

describe('decodeTree at its diagnostic limit', () => {
  /** `n` neighbor blocks in a chain, each with state: without --operation, one STATE_INFERRED note each. */
  const chain = (n: number): ReturnType<typeof encodeTree> =>
    encodeTree({
      abi: 'x64',
      blocks: Array.from({ length: n }, () => ({ role: 'new-offload', type: 'NeighborOffloadConstState', state: { NEIGHBOR_OFFLOAD_STATE_CONST: {} } })),
    });

  it('the issue: 1,500 notes do not hide a HEADER_SIZE_MISMATCH at the 1,500th block', () => {
    const enc = chain(1500);
    const bytes = enc.bytes.slice();
    const o = blockOffsets(X64);
    // Walk to the last block and break its Header.Size.
    let at = 0;
    for (let i = 0; i < 1499; i++) at = Number(new DataView(bytes.buffer).getBigUint64(at + o.next, true) - enc.base);
    new DataView(bytes.buffer).setUint16(at + o.header + 2, 7, true);
    const doc = decodeTree(SegmentImage.region(bytes, enc.base), enc.root, { abi: X64 });
    const mismatch = doc.diagnostics.filter((d) => d.code === 'HEADER_SIZE_MISMATCH');
    expect(mismatch).toEqual([
      expect.objectContaining({ severity: 'warning', path: 'blocks[1499]', message: 'Header.Size is 7, the block is 152 bytes on x64' }),
    ]);
    expect(diagnosticCounts(doc.diagnostics)).toEqual({ error: 0, warning: 1, info: 1500 });
    const notes = doc.diagnostics.filter((d) => d.code === 'STATE_INFERRED');
    expect(notes.slice(0, NOTES_LISTED_PER_CODE).map((d) => d.path)).toEqual(Array.from({ length: NOTES_LISTED_PER_CODE }, (_, i) => `blocks[${i}]`));
    expect(notes[NOTES_LISTED_PER_CODE]).toMatchObject({ count: 1490, path: 'blocks[10]', lastPath: 'blocks[1499]' });
    expect(notes[NOTES_LISTED_PER_CODE]!.message).toMatch(/^1490 notes of this code not listed one by one \(more than 1000 diagnostics\), from blocks\[10\] to blocks\[1499\]; the first: no operation given/);
    // Only notes were summarised: no DIAGNOSTICS_LIMIT warning.
    expect(doc.diagnostics.some((d) => d.code === 'DIAGNOSTICS_LIMIT')).toBe(false);
  });

  it('a document under the limit is what it was: every note listed, no summary', () => {
    const enc = chain(999);
    const doc = decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.root, { abi: X64 });
    expect(doc.diagnostics.length).toBe(999);
    expect(doc.diagnostics.every((d, i) => d.code === 'STATE_INFERRED' && d.path === `blocks[${i}]` && d.count === undefined && !('lastPath' in d))).toBe(true);
  });

  it('for any tree, flipped or not, with any limit: the capped document lists or counts every diagnostic of the uncapped one', () => {
    fc.assert(
      fc.property(
        treeCaseArb(),
        fc.array(fc.tuple(fc.nat(), fc.nat(7)), { maxLength: 8 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 12 }),
        (tc, flips, withOperation, max) => {
          const enc = encodeTree(JSON.parse(JSON.stringify(tc.doc)));
          const bytes = enc.bytes.slice();
          for (const [i, bit] of flips) bytes[i % bytes.length]! ^= 1 << bit;
          const image = SegmentImage.region(bytes, enc.base);
          const options = { abi: tc.abi, ndis: tc.ndis, ...(withOperation ? { operation: tc.operation } : {}) };
          const all = decodeTree(image, enc.root, { ...options, maxDiagnostics: Number.MAX_SAFE_INTEGER }).diagnostics;
          const capped = decodeTree(image, enc.root, { ...options, maxDiagnostics: max });
          checkRule(all, capped.diagnostics, max);
        },
      ),
      fcParams({ numRuns: 300 }),
    );
  });
});
