import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  NDIS_STATUS_VALUES,
  SegmentImage,
  StatusNotAllowedError,
  StatusWriter,
  X64,
  completeTree,
  decodeTree,
  encodeTree,
  layoutOf,
  viewsFor,
  type EncodeInput,
} from '../../src/index.js';

const BASE = 0xffffc70a12340000n;
const sampleBytes = (): Uint8Array => new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
const statuses = (bytes: Uint8Array) => {
  const doc = decodeTree(SegmentImage.region(bytes, BASE), BASE, { operation: 'initiate' });
  const out: Record<string, string> = {};
  const walk = (bs: typeof doc.blocks, path: string): void =>
    bs.forEach((b, i) => {
      out[`${path}[${i}]`] = `${b.role} ${b.Status.name}`;
      walk(b.dependents, `${path}[${i}].dependents`);
    });
  walk(doc.blocks, 'blocks');
  return out;
};

describe('completing the sample initiate', () => {
  it('writes placeholders SUCCESS, new offloads the decision, linkers by their dependents', () => {
    const bytes = sampleBytes();
    const image = SegmentImage.region(bytes, BASE);
    const doc = decodeTree(image, BASE, { operation: 'initiate' });
    const failing = BigInt(doc.blocks[0]!.dependents[0]!.dependents[1]!.address);
    const summary = completeTree(image, BASE, {
      operation: 'initiate',
      statusByAddress: new Map([[failing, 'NDIS_STATUS_OFFLOAD_TCP_ENTRIES']]),
    });
    expect(summary.blocks).toBe(10);
    expect(summary.byRole).toEqual({ placeholder: 1, linker: 1, 'new-offload': 8 });
    expect(statuses(bytes)).toEqual({
      'blocks[0]': 'linker NDIS_STATUS_SUCCESS', // both paths succeeded (one of them partially)
      'blocks[0].dependents[0]': 'new-offload NDIS_STATUS_SUCCESS',
      'blocks[0].dependents[0].dependents[0]': 'new-offload NDIS_STATUS_SUCCESS',
      'blocks[0].dependents[0].dependents[1]': 'new-offload NDIS_STATUS_OFFLOAD_TCP_ENTRIES',
      'blocks[0].dependents[0].dependents[2]': 'placeholder NDIS_STATUS_SUCCESS',
      'blocks[0].dependents[1]': 'new-offload NDIS_STATUS_SUCCESS',
      'blocks[0].dependents[1].dependents[0]': 'new-offload NDIS_STATUS_SUCCESS',
      'blocks[1]': 'new-offload NDIS_STATUS_SUCCESS',
      'blocks[1].dependents[0]': 'new-offload NDIS_STATUS_SUCCESS',
      'blocks[1].dependents[0].dependents[0]': 'new-offload NDIS_STATUS_SUCCESS',
    });
  });

  it('changes only the Status words', () => {
    const bytes = sampleBytes();
    const before = bytes.slice();
    completeTree(SegmentImage.region(bytes, BASE), BASE, { operation: 'initiate', status: 'NDIS_STATUS_RESOURCES' });
    const statusAt = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64).fields.find((f) => f.name === 'Status')!.offset;
    const doc = decodeTree(SegmentImage.region(before, BASE), BASE);
    const allowed = new Set<number>();
    const walk = (bs: typeof doc.blocks): void =>
      bs.forEach((b) => {
        for (let k = 0; k < 4; k++) allowed.add(b.offset! + statusAt + k);
        walk(b.dependents);
      });
    walk(doc.blocks);
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== before[i]) expect(allowed.has(i)).toBe(true);
  });

  it('refuses a status the operation does not allow, before writing anything', () => {
    const bytes = sampleBytes();
    const before = bytes.slice();
    expect(() => completeTree(SegmentImage.region(bytes, BASE), BASE, { operation: 'query', status: 'NDIS_STATUS_RESOURCES' })).toThrow(
      StatusNotAllowedError,
    );
    expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
  });

  it('reads back through the view as a signed NDIS_STATUS', () => {
    const bytes = sampleBytes();
    completeTree(SegmentImage.region(bytes, BASE), BASE, { operation: 'terminate', status: 'NDIS_STATUS_FAILURE' });
    const view = new (viewsFor(X64).NDIS_MINIPORT_OFFLOAD_BLOCK_LIST)().at(new DataView(bytes.buffer), 0);
    expect(view.Status).toBe(NDIS_STATUS_VALUES.NDIS_STATUS_FAILURE);
    expect(view.Status).toBeLessThan(0);
  });
});

describe('scale', () => {
  // Left out of mutation runs only (vitest.stryker.config.ts sets MUTATION_RUN): seconds per mutant.
  it.skipIf(process.env.MUTATION_RUN)('completes a chain of a million TCP blocks without recursion, reusing its buffers', () => {
    const n = 1_000_000;
    const tcp = Array.from({ length: n }, () => ({ role: 'placeholder' as const }));
    const doc: EncodeInput = { blocks: [{ role: 'placeholder', dependents: [{ role: 'placeholder', dependents: tcp }] }] };
    const enc = encodeTree(doc);
    const image = SegmentImage.region(enc.bytes, enc.base);
    const writer = new StatusWriter();
    const s = writer.complete(image, enc.root, { operation: 'invalidate' });
    expect(s.blocks).toBe(n + 2);
    expect(s.byStatus).toEqual({ NDIS_STATUS_SUCCESS: n + 2 });
  });
});
