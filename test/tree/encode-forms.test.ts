/**
 * Issue 22, "every printed form is input", by example on the bundled sample: an edit of any form
 * is written, forms that disagree are refused with the member's path, ports take host order, and
 * the members that follow from others (layer, offset, role) are checked, never ignored.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SegmentImage } from '../../src/codec/image.js';
import { EncodeError } from '../../src/errors.js';
import { X64 } from '../../src/layout/abi.js';
import { decodeTree } from '../../src/tree/decode.js';
import type { TreeDocument } from '../../src/tree/document.js';
import { type EncodeInput, encodeOntoCopy, encodeTree } from '../../src/tree/encode.js';
import { errorOf } from '../support/errors.js';

const BASE = 0xffffc70a12340000n;
const capture = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
const decoded = decodeTree(SegmentImage.region(capture, BASE), BASE, { abi: X64, operation: 'initiate' });
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const fresh = (): Json => structuredClone(decoded) as unknown as Json;
const onto = (doc: Json): Uint8Array => encodeOntoCopy(doc as EncodeInput, capture, BASE);
const changed = (a: Uint8Array, b: Uint8Array = capture): number[] => [...a.keys()].filter((i) => a[i] !== b[i]);
const message = (fn: () => unknown): string => {
  const e = errorOf(fn);
  if (!(e instanceof EncodeError)) throw new Error(`expected an EncodeError, got ${String(e)}`);
  return e.message;
};
const back = (bytes: Uint8Array): TreeDocument => decodeTree(SegmentImage.region(bytes, BASE), BASE, { abi: X64, operation: 'initiate' });

// blocks[0].dependents[0].dependents[0]: a TCP new offload at 0x178 with all three parts.
const TCP = 0x178;
const tcp = (doc: Json): Json => doc.blocks[0].dependents[0].dependents[0];
const STATUS = TCP + 24;

describe('Status: value, hex and name are each input', () => {
  it('the decoded document onto its capture is the capture', () => {
    expect(Buffer.from(onto(fresh())).equals(Buffer.from(capture))).toBe(true);
  });

  it('an edited hex is written (with or without 0x, any case)', () => {
    for (const hex of ['0xc0000001', 'C0000001', 'c0000001']) {
      const doc = fresh();
      tcp(doc).Status.hex = hex;
      const out = onto(doc);
      expect(changed(out)).toEqual([STATUS, STATUS + 3]); // 00000000 -> 010000c0
      expect(back(out).blocks[0]!.dependents[0]!.dependents[0]!.Status).toEqual({ value: -1073741823, hex: '0xc0000001', name: 'NDIS_STATUS_FAILURE' });
    }
  });

  it('an edited value is written', () => {
    const doc = fresh();
    tcp(doc).Status.value = -1073741823;
    expect(new DataView(onto(doc).buffer).getUint32(STATUS, true)).toBe(0xc0000001);
  });

  it('an edited name is written, `unknown (0x…)` too (it carries the value)', () => {
    const doc = fresh();
    tcp(doc).Status.name = 'NDIS_STATUS_OFFLOAD_TCP_ENTRIES';
    expect(back(onto(doc)).blocks[0]!.dependents[0]!.dependents[0]!.Status.name).toBe('NDIS_STATUS_OFFLOAD_TCP_ENTRIES');
    const unknown = fresh();
    tcp(unknown).Status.name = 'unknown (0x40020001)';
    expect(new DataView(onto(unknown).buffer).getUint32(STATUS, true)).toBe(0x40020001);
  });

  it('two forms edited to different values are refused, naming the member and the forms', () => {
    const doc = fresh();
    tcp(doc).Status.hex = '0xc0000001';
    tcp(doc).Status.name = 'NDIS_STATUS_PENDING';
    expect(message(() => onto(doc))).toBe(
      'blocks[0].dependents[0].dependents[0].Status: its forms disagree: value 0 (0x00000000 NDIS_STATUS_SUCCESS), hex "0xc0000001" (0xc0000001 NDIS_STATUS_FAILURE), name "NDIS_STATUS_PENDING" (0x00000103 NDIS_STATUS_PENDING); the capture holds 0x00000000 NDIS_STATUS_SUCCESS, and more than one new value is given: edit one form, or make them agree',
    );
    // Two forms edited alike: one new value, written.
    const alike = fresh();
    tcp(alike).Status.hex = '0xc0000001';
    tcp(alike).Status.name = 'NDIS_STATUS_FAILURE';
    expect(new DataView(onto(alike).buffer).getUint32(STATUS, true)).toBe(0xc0000001);
  });

  it('compact mode has no bytes to tell an edit from the rest: forms that disagree are refused', () => {
    const doc = fresh();
    tcp(doc).Status.name = 'NDIS_STATUS_FAILURE';
    expect(message(() => encodeTree(doc as EncodeInput))).toBe(
      'blocks[0].dependents[0].dependents[0].Status: its forms disagree: value 0 (0x00000000 NDIS_STATUS_SUCCESS), hex "0x00000000" (0x00000000 NDIS_STATUS_SUCCESS), name "NDIS_STATUS_FAILURE" (0xc0000001 NDIS_STATUS_FAILURE); with no capture to tell the edited form from the others (compact mode lays out anew), give one form or make them agree',
    );
    // The same document with forms that agree encodes.
    expect(encodeTree(fresh() as EncodeInput).bytes.length).toBeGreaterThan(0);
  });

  it('a mistyped name: unknown, with the closest names; a form that is not one is refused', () => {
    expect(message(() => encodeTree({ blocks: [{ Status: 'NDIS_STATUS_FAILUR' }] }))).toBe(
      "blocks[0].Status: unknown NDIS_STATUS name 'NDIS_STATUS_FAILUR' (did you mean NDIS_STATUS_FAILURE?); a status is a WDK name, `unknown (0x…)`, a hex word or a number",
    );
    expect(message(() => encodeTree({ blocks: [{ Status: { name: 'NDIS_STATUS_PENDIN' } }] }))).toBe(
      "blocks[0].Status.name: unknown NDIS_STATUS name 'NDIS_STATUS_PENDIN' (did you mean NDIS_STATUS_PENDING?); a status is a WDK name, `unknown (0x…)`, a hex word or a number",
    );
    expect(message(() => encodeTree({ blocks: [{ Status: { hex: 'NDIS_STATUS_PENDING' } }] }))).toBe(
      'blocks[0].Status.hex: expected a 32-bit hex word (0xC0000001 or C0000001), got "NDIS_STATUS_PENDING"',
    );
    expect(message(() => encodeTree({ blocks: [{ Status: { valeu: 1 } }] }))).toBe('blocks[0].Status.valeu: not a form of Status (its forms are value, hex and name) (did you mean value?)');
  });
});

describe('enums: State and the block type', () => {
  const DELEGATED = TCP + 152 + 24 + 48; // the block, TCP_OFFLOAD_STATE_CONST, TCP_OFFLOAD_STATE_CACHED
  const stateOf = (doc: Json): Json => tcp(doc).state.TCP_OFFLOAD_STATE_DELEGATED;

  it('State: an edited value or name is written; both edited differently is refused', () => {
    const at = DELEGATED + 8;
    expect(new DataView(capture.buffer).getUint32(at, true)).toBe(4);
    const value = fresh();
    stateOf(value).State.value = 7;
    expect(changed(onto(value))).toEqual([at]);
    expect(back(onto(value)).blocks[0]!.dependents[0]!.dependents[0]!.state!.TCP_OFFLOAD_STATE_DELEGATED!.State).toEqual({ value: 7, name: 'TcpConnectionCloseWait' });
    const name = fresh();
    stateOf(name).State.name = 'TcpConnectionTimeWait';
    expect(onto(name)[at]).toBe(10);
    const both = fresh();
    stateOf(both).State = { value: 7, name: 'TcpConnectionTimeWait' };
    expect(message(() => onto(both))).toBe(
      'blocks[0].dependents[0].dependents[0].state.TCP_OFFLOAD_STATE_DELEGATED.State: its forms disagree: value 7 (TcpConnectionCloseWait), name "TcpConnectionTimeWait" (TcpConnectionTimeWait); the capture holds TcpConnectionEstablished, and more than one new value is given: edit one form, or make them agree',
    );
    const typo = fresh();
    stateOf(typo).State.name = 'TcpConnectionEstablshed';
    expect(message(() => onto(typo))).toBe(
      "blocks[0].dependents[0].dependents[0].state.TCP_OFFLOAD_STATE_DELEGATED.State.name: unknown TCP_OFFLOAD_CONNECTION_STATE 'TcpConnectionEstablshed' (did you mean TcpConnectionEstablished or TcpConnectionClosed?)",
    );
  });

  it('type and Header.Type: one edited is written; both edited differently, or disagreeing in compact mode, refused', () => {
    const placeholder = (doc: Json): Json => doc.blocks[0].dependents[0].dependents[2]; // a TCP placeholder
    const at = Number(BigInt(placeholder(decoded as unknown as Json).address) - BASE);
    const named = fresh();
    placeholder(named).type = 'TcpOffloadDelegatedState';
    expect(changed(onto(named))).toEqual([at]);
    expect(onto(named)[at]).toBe(15);
    const numbered = fresh();
    placeholder(numbered).Header.Type = 15;
    expect(Buffer.from(onto(numbered)).equals(Buffer.from(onto(named)))).toBe(true);
    const both = fresh();
    placeholder(both).type = 'TcpOffloadDelegatedState';
    placeholder(both).Header.Type = 13;
    expect(message(() => onto(both))).toMatch(/^blocks\[0\]\.dependents\[0\]\.dependents\[2\]: its forms disagree: type "TcpOffloadDelegatedState" \(TcpOffloadDelegatedState\), Header.Type 13 \(TcpOffloadConstState\); the capture holds /);
    expect(message(() => encodeTree({ blocks: [{ type: 'NeighborOffloadState', Header: { Type: 1 } }] }))).toMatch(/^blocks\[0\]: its forms disagree: type "NeighborOffloadState" \(NeighborOffloadState\), Header.Type 1 \(NeighborOffloadConstState\); with no capture/);
    expect(message(() => encodeTree({ blocks: [{ type: 'NeighbourOffloadState' }] }))).toBe("blocks[0].type: unknown OFFLOAD_STATE_TYPE 'NeighbourOffloadState' (did you mean NeighborOffloadState, NeighborOffloadConstState or NeighborOffloadCachedState?)");
  });
});

describe('ports: host order on input', () => {
  const CONST = TCP + 152;
  const REMOTE = CONST + 10;
  it('{ "host": 445 } stores 445 in network byte order; the stored number and { "stored": N } too', () => {
    const doc = fresh();
    tcp(doc).state.TCP_OFFLOAD_STATE_CONST.RemotePort = { host: 445 };
    const out = onto(doc);
    expect([out[REMOTE], out[REMOTE + 1]]).toEqual([0x01, 0xbd]);
    expect(back(out).blocks[0]!.dependents[0]!.dependents[0]!.state!.TCP_OFFLOAD_STATE_CONST!.RemotePort).toBe(0xbd01);
    const compact = (port: unknown): Uint8Array => encodeTree({ blocks: [{ type: 'TcpOffloadConstState', state: { TCP_OFFLOAD_STATE_CONST: { LocalPort: port } } }] }).bytes;
    const local = 152 + 12;
    expect([...compact({ host: 80 }).subarray(local, local + 2)]).toEqual([0, 80]);
    expect(Buffer.from(compact({ host: 80 })).equals(Buffer.from(compact(0x5000)))).toBe(true);
    expect(Buffer.from(compact({ stored: 0x5000, host: 80 })).equals(Buffer.from(compact(0x5000)))).toBe(true);
  });

  it('host and stored that disagree, a port past 16 bits, another key: refused with the path', () => {
    const at = 'blocks[0].state.TCP_OFFLOAD_STATE_CONST.LocalPort';
    const doc = (port: unknown): EncodeInput => ({ blocks: [{ type: 'TcpOffloadConstState', state: { TCP_OFFLOAD_STATE_CONST: { LocalPort: port } } }] });
    expect(message(() => encodeTree(doc({ host: 80, stored: 80 })))).toBe(
      `${at}: its forms disagree: host 80 (stored 20480, host order 80), stored 80 (stored 80, host order 20480); with no capture to tell the edited form from the others (compact mode lays out anew), give one form or make them agree`,
    );
    expect(message(() => encodeTree(doc({ host: 65536 })))).toBe(`${at}.host: 65536 does not fit the member (0..65535)`);
    expect(message(() => encodeTree(doc({ hots: 80 })))).toBe(`${at}.hots: not a form of a network-order member (give host or stored) (did you mean host?)`);
  });
});

describe('members that follow from others: checked, never ignored', () => {
  it('a layer that does not match the depth', () => {
    const doc = fresh();
    tcp(doc).layer = 'path';
    const want =
      "blocks[0].dependents[0].dependents[0].layer: \"path\", but the block is among the dependents of a path block, so at the tcp layer: the layer follows from where a block sits; move the block, or give layer 'tcp'";
    expect(message(() => onto(doc))).toBe(want);
    expect(message(() => encodeTree(doc as EncodeInput))).toBe(want);
  });

  it('an offset that disagrees with the address (onto: the capture\'s offset of that address)', () => {
    const doc = fresh();
    tcp(doc).offset = 0x200;
    expect(message(() => onto(doc))).toBe(
      'blocks[0].dependents[0].dependents[0].offset: 512, but 0xffffc70a12340178 is at offset 376 of the capture: the offset follows from the address, so edit address to write the block elsewhere',
    );
  });

  it('a role that disagrees with the bytes: refused, saying what to edit instead', () => {
    const doc = fresh();
    tcp(doc).role = 'linker';
    expect(message(() => onto(doc))).toBe(
      "blocks[0].dependents[0].dependents[0].role: 'linker', but the bytes make the block a new-offload (MiniportOffloadContext 0xffffc70a123402d8 points to a cell holding NULL): the role follows from MiniportOffloadContext and the cell it points to, so give a linker a MiniportOffloadContext that points to a non-NULL cell (*MiniportOffloadContext), or leave role out",
    );
    // Editing the cell instead: the role follows.
    const cell = fresh();
    tcp(cell).role = 'linker';
    tcp(cell)['*MiniportOffloadContext'] = '0xffffc70a0f6e2a40';
    const out = onto(cell);
    expect(changed(out)).toEqual([0x2d8, 0x2d9, 0x2da, 0x2db, 0x2dc, 0x2dd, 0x2de, 0x2df].filter((i) => out[i] !== 0));
    expect(back(out).blocks[0]!.dependents[0]!.dependents[0]!.role).toBe('linker');
  });

  it('MiniportOffloadContext moved, with the cell and the role left to the bytes: only its 8 bytes change', () => {
    const doc = fresh();
    const block = doc.blocks[0].dependents[0].dependents[2]; // a placeholder: MiniportOffloadContext NULL
    const at = Number(BigInt(block.address) - BASE) + 48;
    block.MiniportOffloadContext = '0xffffc70a123402d8'; // the TCP new offload's cell, holding NULL
    delete block.role;
    const out = onto(doc);
    expect(changed(out).every((i) => i >= at && i < at + 8)).toBe(true);
    expect(back(out).blocks[0]!.dependents[0]!.dependents[2]!.role).toBe('new-offload');
  });

  it('a union: one alternative edited wins over the unedited other; on fresh bytes both must agree', () => {
    const doc = fresh();
    const d = tcp(doc).state.TCP_OFFLOAD_STATE_DELEGATED;
    expect(d.SendDataHead).toBe('0x0000000000000000');
    expect(d.SendBacklogSize).toBe(0);
    d.SendBacklogSize = 7;
    const out = onto(doc);
    expect(changed(out).length).toBe(1);
    expect(back(out).blocks[0]!.dependents[0]!.dependents[0]!.state!.TCP_OFFLOAD_STATE_DELEGATED!.SendDataHead).toBe('0x0000000000000007');
    d.SendDataHead = '0x0000000000000009';
    expect(message(() => onto(doc))).toMatch(/SendDataHead: conflicts with SendDataHead, SendBacklogSize: they share bytes of one union; give one of them$/);
  });
});

describe('compact mode: address and offset are laid out anew, but must agree with each other', () => {
  it('a decoded document encodes compactly; an address edited without its offset is refused, saying why', () => {
    expect(encodeTree(fresh() as EncodeInput).bytes.length).toBeGreaterThan(0);
    const doc = fresh();
    tcp(doc).address = '0xffffc70a12340400';
    expect(message(() => encodeTree(doc as EncodeInput))).toBe(
      'blocks[0].dependents[0].dependents[0].offset: 376, but address 0xffffc70a12340400 is at offset 1024 of the document\'s base: address and offset disagree. Compact mode lays every block out anew and reads neither: remove them, or encode onto a capture (--onto) to write at an address',
    );
    // Without a base (segments, dumps) the offset is another file's: nothing to compare.
    expect(encodeTree({ ...doc, base: null } as EncodeInput).bytes.length).toBeGreaterThan(0);
  });
});

describe('onto a capture: offsets of another file', () => {
  it('a document decoded from segments or a dump (base null) gives offsets in those files: not compared', () => {
    const doc = fresh();
    doc.base = null;
    tcp(doc).offset = 0x2000;
    expect(Buffer.from(onto(doc)).equals(Buffer.from(capture))).toBe(true);
  });
});

describe('root: the first block\'s address', () => {
  it('a root that is not blocks[0].address is refused in both modes, saying what to edit', () => {
    const doc = fresh();
    doc.root = '0xffffc70a12340738';
    const want = "blocks[0].address: 0xffffc70a12340000, but the document's root is 0xffffc70a12340738: the root is the first block's address, so the two must agree (to write the tree elsewhere, edit both)";
    expect(message(() => onto(doc))).toBe(want);
    expect(message(() => encodeTree(doc as EncodeInput))).toBe(want);
  });
});
