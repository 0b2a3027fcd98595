/**
 * The encode command's grammar (issue 22): --onto takes the base from the document, --abi and
 * --ndis convert a decoded document or refuse with a reason, - is standard input and output,
 * and an option encode cannot honour is refused.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ENCODE_HELP, type EncodeIo, documentText } from '../../src/cli/commands/encode.js';
import { DecodeError } from '../../src/errors.js';
import { SegmentImage } from '../../src/codec/image.js';
import { X86 } from '../../src/layout/abi.js';
import { decodeTree } from '../../src/tree/decode.js';

const SAMPLE = 'fixtures/sample-x64.bin';
const BASE = '0xffffc70a12340000';

async function run(argv: string[], extra: Partial<EncodeIo> = {}): Promise<{ code: number; out: string; err: string; bytes: Uint8Array[] }> {
  let out = '';
  let err = '';
  const bytes: Uint8Array[] = [];
  const io: EncodeIo = { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {}, outBytes: (b) => bytes.push(b.slice()), ...extra };
  const code = await main(argv, io);
  return { code, out, err, bytes };
}

const dir = mkdtempSync(join(tmpdir(), 'ndis-offload-encode-'));
const docPath = join(dir, 'sample.json');
let docText = '';

describe('encode: the grammar', () => {
  it('setup: the sample decoded as a document', async () => {
    const r = await run(['decode', SAMPLE, '--base', BASE, '--operation', 'initiate', '--json']);
    expect(r.code).toBe(0);
    docText = r.out;
    writeFileSync(docPath, docText);
  });

  it('--onto takes the base from the document: the capture comes back byte for byte', async () => {
    const out = join(dir, 'onto.bin');
    const r = await run(['encode', docPath, '--onto', SAMPLE, '-o', out]);
    expect(r.err).toBe(`wrote ${out}: 2688 bytes (${SAMPLE} at 0xffffc70a12340000, with the document's structures written over it)\n`);
    expect(r.code).toBe(0);
    expect(Buffer.compare(readFileSync(out), readFileSync(SAMPLE))).toBe(0);
    // --base that agrees is fine; one that differs is refused, saying which is which.
    expect((await run(['encode', docPath, '--onto', SAMPLE, '--base', 'ffffc70a12340000', '-o', out])).code).toBe(0);
    const differ = await run(['encode', docPath, '--onto', SAMPLE, '--base', '0x10000', '-o', out]);
    expect(differ.code).toBe(2);
    expect(differ.err).toBe(
      `ndis-offload: --base 0x10000 and the document's base 0xffffc70a12340000 differ: --base says where ${SAMPLE}'s first byte is, the document's base where it was decoded from; give one, or make them agree\n`,
    );
    // No base anywhere.
    const noBase = join(dir, 'nobase.json');
    writeFileSync(noBase, JSON.stringify({ ...JSON.parse(docText), base: null }));
    expect((await run(['encode', noBase, '--onto', SAMPLE, '-o', out])).err).toBe(
      `ndis-offload: --onto needs --base HEX: the address of ${SAMPLE}'s first byte (the document gives no base)\n`,
    );
  });

  it('--onto with another ABI or revision than the document\'s is refused with the reason', async () => {
    const out = join(dir, 'o.bin');
    const abi = await run(['encode', docPath, '--onto', SAMPLE, '--abi', 'x86', '-o', out]);
    expect(abi.code).toBe(2);
    expect(abi.err).toBe(
      'ndis-offload: --abi x86: the document is x64, and --onto writes its structures where they are in the capture, laid out as decoded; encode without --onto to convert, or decode the capture with --abi x86\n',
    );
    const ndis = await run(['encode', docPath, '--onto', SAMPLE, '--ndis', '6.0', '-o', out]);
    expect(ndis.code).toBe(2);
    expect(ndis.err).toMatch(/^ndis-offload: --ndis 6\.0: the document is NDIS 6\.1, and --onto writes/);
    // The document's own ABI, said again: fine.
    expect((await run(['encode', docPath, '--onto', SAMPLE, '--abi', 'x64', '-o', out])).code).toBe(0);
  });

  it('--abi x86 on an x64 document: the default x86 base (never a failure on $.base), sizes converted; a value that does not fit is named', async () => {
    const doc = JSON.parse(docText);
    // The linker's context cell is an x64 kernel address: it cannot be an x86 pointer.
    const refused = await run(['encode', docPath, '--abi', 'x86', '-o', join(dir, 'x.bin')]);
    expect(refused.code).toBe(3);
    expect(refused.err).toBe('ndis-offload: blocks[0].*MiniportOffloadContext: 0xffffc70a0f6e2a40 does not fit the member (0..4294967295)\n');
    doc.blocks[0]['*MiniportOffloadContext'] = '0x8f6e2a40';
    const fits = join(dir, 'fits.json');
    writeFileSync(fits, JSON.stringify(doc));
    const out = join(dir, 'x86.bin');
    const r = await run(['encode', fits, '--abi', 'x86', '-o', out]);
    expect(r.err).toBe(`wrote ${out}: 1772 bytes, x86 NDIS 6.1, converted from x64 NDIS 6.1, base and root 0x80000000\n`);
    expect(r.code).toBe(0);
    const back = decodeTree(SegmentImage.region(new Uint8Array(readFileSync(out)), 0x80000000n), 0x80000000n, { abi: X86, operation: 'initiate' });
    expect(back.diagnostics).toEqual([]);
    expect(back.blocks[0]!.Header.Size).toBe(76);
    expect(back.blocks[0]!.dependents[0]!.dependents[0]!.state!.TCP_OFFLOAD_STATE_CONST!.RemotePort).toBe(0xbd01);
    // --base still chooses the base.
    expect((await run(['encode', fits, '--abi', 'x86', '--base', '0x81230000', '-o', out])).err).toMatch(/base and root 0x81230000\n$/);
  });

  it('--ndis 6.0 on a 6.1 document drops DWnd when it is 0, and refuses naming it when not', async () => {
    const out = join(dir, 'n60.bin');
    const r = await run(['encode', docPath, '--ndis', '6.0', '-o', out]);
    expect(r.code).toBe(0);
    const back = decodeTree(SegmentImage.region(new Uint8Array(readFileSync(out)), BigInt(BASE)), BigInt(BASE), { ndis: '6.0', operation: 'initiate' });
    expect(back.diagnostics).toEqual([]);
    const doc = JSON.parse(docText);
    doc.blocks[0].dependents[0].dependents[1].state.TCP_OFFLOAD_STATE_DELEGATED.DWnd = 5;
    const dwnd = join(dir, 'dwnd.json');
    writeFileSync(dwnd, JSON.stringify(doc));
    const refused = await run(['encode', dwnd, '--ndis', '6.0', '-o', out]);
    expect(refused.code).toBe(3);
    expect(refused.err).toBe(
      'ndis-offload: blocks[0].dependents[0].dependents[1].state.TCP_OFFLOAD_STATE_DELEGATED.DWnd: 5, but NDIS 6.0 has no DWnd (TCP_OFFLOAD_STATE_DELEGATED gained it in 6.1): set it to 0 to drop it, or encode for NDIS 6.1\n',
    );
  });

  it('- reads the document from standard input and -o - writes standard output', async () => {
    const r = await run(['encode', '-', '--onto', SAMPLE, '-o', '-'], { readStdin: () => new TextEncoder().encode(docText) });
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(r.bytes.length).toBe(1);
    expect(Buffer.compare(Buffer.from(r.bytes[0]!), readFileSync(SAMPLE))).toBe(0);
    expect(r.err).toBe(`wrote standard output: 2688 bytes (${SAMPLE} at 0xffffc70a12340000, with the document's structures written over it)\n`);
    const bad = await run(['encode', '-', '-o', join(dir, 'b.bin')], { readStdin: () => new TextEncoder().encode('{') });
    expect(bad.code).toBe(3);
    expect(bad.err).toMatch(/^ndis-offload: @0x1: standard input: not JSON/);
    // Binary to a terminal: refused.
    const tty = await run(['encode', docPath, '-o', '-'], { stdoutIsTty: true });
    expect(tty.code).toBe(2);
    expect(tty.err).toBe('ndis-offload: -o -: standard output is a terminal; redirect it to a file or a pipe, or give -o FILE\n');
  });

  it('options encode cannot honour are refused (exit 2)', async () => {
    const out = join(dir, 'r.bin');
    expect((await run(['encode', docPath, '--dtb', '0x1000', '-o', out])).err).toBe(
      'ndis-offload: encode writes a region (compact, or --onto a region capture); --dtb belongs to physical images, which are read-only here\n',
    );
    expect((await run(['encode', docPath, '--physical', SAMPLE, '-o', out])).code).toBe(2);
    expect((await run(['encode', docPath, '--onto', 'fixtures/sample-x64.dmp', '-o', out])).code).toBe(2);
    expect((await run(['encode', docPath, '--onto', '-', '-o', out])).err).toBe('ndis-offload: --onto -: the capture must be a file (standard input is for TREE.json)\n');
  });

  it('an edit of one Status form through the command line: written', async () => {
    const doc = JSON.parse(docText);
    doc.blocks[0].dependents[0].dependents[0].Status.hex = 'C0000001';
    const r = await run(['encode', '-', '--onto', SAMPLE, '-o', '-'], { readStdin: () => new TextEncoder().encode(JSON.stringify(doc)) });
    expect(r.code).toBe(0);
    expect(new DataView(r.bytes[0]!.buffer).getUint32(0x178 + 24, true)).toBe(0xc0000001);
    doc.blocks[0].dependents[0].dependents[0].Status.name = 'NDIS_STATUS_PENDING';
    const two = await run(['encode', '-', '--onto', SAMPLE, '-o', '-'], { readStdin: () => new TextEncoder().encode(JSON.stringify(doc)) });
    expect(two.code).toBe(3);
    expect(two.err).toMatch(/^ndis-offload: blocks\[0\]\.dependents\[0\]\.dependents\[0\]\.Status: its forms disagree: /);
  });
});

describe('encode: a document that does not say its ABI', () => {
  it('is written for the --abi given, nothing converted', async () => {
    const doc = join(dir, 'hand.json');
    writeFileSync(doc, JSON.stringify({ blocks: [{ role: 'placeholder', Header: { Size: 152 } }] }));
    const r = await run(['encode', doc, '--abi', 'x86', '-o', '-']);
    expect(r.err).toBe('wrote standard output: 76 bytes, x86 NDIS 6.1, base and root 0x80000000\n');
    expect(new DataView(r.bytes[0]!.buffer).getUint16(2, true)).toBe(152);
  });
});

describe('encode: a document larger than Node can hold as text', () => {
  it('is refused with the reason and the limit, before the parser runs', () => {
    const text = '{"blocks":[]}';
    expect(documentText(Buffer.from(text), 'tree.json', 64)).toBe(text);
    expect(() => documentText(Buffer.alloc(65, 0x20), 'tree.json', 64)).toThrow(
      new DecodeError(
        undefined,
        'tree.json: 65 bytes (0 MiB) of JSON: encode reads a document whole, and the longest text Node can hold is 64 characters (0 MiB); encode the tree in parts (its top-level blocks), or from a capture with encode --onto of a smaller document',
      ),
    );
  });

  it('uses the longest string this Node can make as the limit, and says so in its help', async () => {
    const { constants } = await import('node:buffer');
    const big = { length: constants.MAX_STRING_LENGTH + 1 } as Buffer;
    expect(() => documentText(big, 'huge.json')).toThrow(/longest text Node can hold is 536870888 characters \(512 MiB\)/);
    expect(ENCODE_HELP).toContain('at most 512 MiB of JSON');
  });
});
