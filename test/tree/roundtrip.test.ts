import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SegmentImage, X64, X86, decodeTree, encodeOntoCopy, encodeTree, layoutOf, type EncodeInput } from '../../src/index.js';

const sample = JSON.parse(readFileSync('fixtures/sample-x64.json', 'utf8')) as EncodeInput;
const SAMPLE_BASE = 0xffffc70a12340000n;

describe('the bundled sample', () => {
  const bytes = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
  const image = SegmentImage.region(bytes, SAMPLE_BASE);

  it('is what the encoder makes of its description', () => {
    expect(Buffer.from(encodeTree(sample).bytes).equals(Buffer.from(bytes))).toBe(true);
  });

  it('decodes cleanly for initiate, with every block where the description put it', () => {
    const doc = decodeTree(image, SAMPLE_BASE, { operation: 'initiate' });
    expect(doc.diagnostics).toEqual([]);
    const [n0, n1] = doc.blocks;
    expect(n0!.role).toBe('linker');
    expect(n0!['*MiniportOffloadContext']).toBe('0xffffc70a0f6e2a40');
    expect(n0!.Status.name).toBe('NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS');
    const path4 = n0!.dependents[0]!;
    expect(path4.state!.PATH_OFFLOAD_STATE_CONST!['*SourceAddress']).toBe('192.168.1.20');
    expect(path4.dependents.map((b) => b.role)).toEqual(['new-offload', 'new-offload', 'placeholder']);
    expect(path4.dependents[1]!.Status.name).toBe('NDIS_STATUS_OFFLOAD_TCP_ENTRIES');
    const path6 = n0!.dependents[1]!;
    expect(path6.state!.PATH_OFFLOAD_STATE_CONST!['*DestinationAddress']).toBe('fe80::1');
    expect(n1!.state!.NEIGHBOR_OFFLOAD_STATE_CONST!.VlanId).toBe(20);
    expect(n1!.state!.NEIGHBOR_OFFLOAD_STATE_CONST!.DlSourceAddress).toBe(`00155d4a1b2c${'00'.repeat(26)}`);
  });

  it('re-encodes onto itself byte for byte, and an edit changes only that field', () => {
    const doc = decodeTree(image, SAMPLE_BASE, { operation: 'initiate' });
    const same = encodeOntoCopy(JSON.parse(JSON.stringify(doc)), bytes, SAMPLE_BASE);
    expect(Buffer.from(same).equals(Buffer.from(bytes))).toBe(true);

    const tcp = doc.blocks[0]!.dependents[0]!.dependents[0]!;
    (tcp.state!.TCP_OFFLOAD_STATE_DELEGATED as Record<string, unknown>).SndNxt = 0x01020304;
    const edited = encodeOntoCopy(JSON.parse(JSON.stringify(doc)), bytes, SAMPLE_BASE);
    const member = (struct: string, name: string): number => layoutOf(struct, X64).fields.find((f) => f.name === name)!.offset;
    const at =
      Number(BigInt(tcp.address) - SAMPLE_BASE) +
      layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64).size +
      member('TCP_OFFLOAD_STATE', 'DelegatedState') +
      member('TCP_OFFLOAD_STATE_DELEGATED', 'SndNxt');
    const changed = [...edited.keys()].filter((i) => edited[i] !== bytes[i]);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.every((i) => i >= at && i < at + 4)).toBe(true);
    expect(new DataView(edited.buffer).getUint32(at, true)).toBe(0x01020304);
  });

  it('never modifies the capture it encodes onto', () => {
    const before = bytes.slice();
    const doc = decodeTree(image, SAMPLE_BASE);
    doc.blocks[0]!.Status = { value: 0, hex: '0x00000000', name: 'NDIS_STATUS_SUCCESS' };
    encodeOntoCopy(JSON.parse(JSON.stringify(doc)), bytes, SAMPLE_BASE);
    expect(Buffer.from(bytes).equals(Buffer.from(before))).toBe(true);
  });
});

describe('compact encoding', () => {
  for (const abi of [X64, X86]) {
    it(`round-trips the sample description on ${abi.name}: document -> bytes -> document -> same bytes`, () => {
      // The linker's context value is a 64-bit kernel address: give x86 one of its own.
      const blocks = JSON.parse(JSON.stringify(sample.blocks)) as EncodeInput['blocks'];
      if (abi === X86) blocks[0]!['*MiniportOffloadContext'] = '0x8a0f2a40';
      const enc = encodeTree({ ...sample, blocks, abi: abi.name, base: abi === X86 ? '0x80a00000' : sample.base });
      const doc = decodeTree(SegmentImage.region(enc.bytes, enc.base), enc.root, { abi, operation: 'initiate' });
      expect(doc.diagnostics).toEqual([]);
      const again = encodeTree(JSON.parse(JSON.stringify(doc)), { abi, base: enc.base });
      expect(Buffer.from(again.bytes).equals(Buffer.from(enc.bytes))).toBe(true);
    });
  }
});
