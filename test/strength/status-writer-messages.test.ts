/**
 * The status writer's refusals, whole: class, code and message, for each way a completion cannot
 * go ahead (mutation testing found the messages unasserted). Every one leaves the image untouched.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildAddressSpace, writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PagedImage } from '../../src/codec/paged.js';
import { BufferSource, RawPhysicalMemory } from '../../src/codec/physical.js';
import { AddressError, CompletionError, OffloadError, SegmentImage, StatusWriter, X64, layoutOf, toStatus } from '../../src/index.js';

const root = 0xffffc70a12340000n;
const sample = (): Uint8Array => new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
const NEXT = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64).fields.find((f) => f.name === 'NextBlock')!.offset;

function refusal(bytes: Uint8Array, image: SegmentImage | PagedImage, at: bigint, options: Parameters<StatusWriter['complete']>[2]): unknown {
  const before = bytes.slice();
  let error: unknown;
  try {
    new StatusWriter().complete(image, at, options);
  } catch (e) {
    error = e;
  }
  expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
  return error;
}

describe('StatusWriter refusals', () => {
  it('an unknown status name', () => {
    expect(() => toStatus('NDIS_STATUS_BOGUS' as never)).toThrow(new OffloadError('USAGE', "unknown NDIS_STATUS name 'NDIS_STATUS_BOGUS'"));
    const bytes = sample();
    const e = refusal(bytes, SegmentImage.region(bytes, root), root, { operation: 'initiate', status: 'NDIS_STATUS_BOGUS' as never });
    expect(e).toBeInstanceOf(OffloadError);
    expect((e as Error).message).toBe("unknown NDIS_STATUS name 'NDIS_STATUS_BOGUS'");
  });

  it('a read-only image', () => {
    const bytes = sample();
    const space = buildAddressSpace([{ address: root, bytes }], { scatter: 2 });
    const paged = new PagedImage(new RawPhysicalMemory(new BufferSource(writeRawPhysical(space).toBytes())), space.dtb);
    const e = refusal(bytes, paged, root, { operation: 'initiate' });
    expect(e).toBeInstanceOf(CompletionError);
    expect((e as CompletionError).code).toBe('COMPLETION');
    expect((e as Error).message).toBe(`block at 0x${root.toString(16)}: the image is read-only (a crash dump?): complete a region instead`);
  });

  it('a cycle, a limit, a root outside the image, a pointer outside it', () => {
    const loop = sample();
    new DataView(loop.buffer).setBigUint64(NEXT, root, true);
    for (const options of [{ operation: 'initiate' as const }, { operation: 'initiate' as const, decide: () => undefined }]) {
      const cycle = refusal(loop, SegmentImage.region(loop, root), root, options);
      expect(cycle).toBeInstanceOf(CompletionError);
      expect((cycle as Error).message).toBe(`block at 0x${root.toString(16)}: reached twice (a cycle or a shared block)`);
      const bytes = sample();
      const limit = refusal(bytes, SegmentImage.region(bytes, root), root, { ...options, maxBlocks: 4 });
      expect(limit).toBeInstanceOf(CompletionError);
      expect((limit as Error).message).toMatch(/^block at 0x[0-9a-f]+: more than 4 blocks$/);
      const outside = refusal(bytes, SegmentImage.region(bytes, root), root - 0x1000n, options);
      expect(outside).toBeInstanceOf(AddressError);
      expect((outside as Error).message).toContain('root');
      const dangling = sample();
      new DataView(dangling.buffer).setBigUint64(NEXT, root + 0x100000n, true);
      const far = refusal(dangling, SegmentImage.region(dangling, root), root, options);
      expect(far).toBeInstanceOf(AddressError);
      expect((far as Error).message).toContain('the tree (block ');
    }
  });
});
