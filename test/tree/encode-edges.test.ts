/**
 * encodeTree, encodeOnto and encodeOntoCopy at their edges, with exact values worked out by hand
 * from the layouts (x64: a 152-byte block, NextBlock @8, DependentBlockList @16, Status @24,
 * MiniportOffloadContext @48; x86: 76 bytes, @4, @8, @12, @24): whole error messages and paths for
 * every refusal, exact bytes for edge values, the fast paths against the general code and the
 * encoder they replaced (test/support/encode-reference.ts), and encodeOnto's all-or-nothing.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { SegmentImage, type MemoryImage } from '../../src/codec/image.js';
import { EncodeError } from '../../src/errors.js';
import { X64, X86 } from '../../src/layout/abi.js';
import { OFFLOAD_STATE_TYPE } from '../../src/layout/constants.js';
import type { PlacedField } from '../../src/layout/msvc.js';
import { layoutOf } from '../../src/layout/registry.js';
import { stateParts } from '../../src/tree/state.js';
import { type BlockInput, type EncodeInput, encodeOnto, encodeOntoCopy, encodeTree } from '../../src/tree/encode.js';
import { fcParams } from '../support/arbitraries.js';
import { referenceEncodeTree } from '../support/encode-reference.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const errorOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

/** The EncodeError `fn` throws, as "path | message"; anything else is a failure of the test. */
function refusal(fn: () => unknown): string {
  const e = errorOf(fn);
  if (!(e instanceof EncodeError)) throw new Error(`expected an EncodeError, got ${String(e)}`);
  expect(e.code).toBe('ENCODE');
  return `${e.path} | ${e.message}`;
}

/** encodeTree's outcome, checked to be the reference encoder's (bytes, or error class, path and message). */
function outcome(doc: unknown): string {
  const run = (f: typeof encodeTree): string => {
    const e = errorOf(() => f(doc as EncodeInput));
    if (e === undefined) return hex(f(doc as EncodeInput).bytes);
    return `${(e as Error).constructor.name} ${(e as EncodeError).path} | ${(e as Error).message}`;
  };
  const got = run(encodeTree);
  expect(got).toBe(run(referenceEncodeTree as unknown as typeof encodeTree));
  return got;
}

/** The bytes encodeTree gives (and the reference gives the same). */
function bytesOf(doc: unknown): string {
  const got = outcome(doc);
  expect(got).not.toMatch(/Error/);
  return got;
}

/** The EncodeError encodeTree throws (and the reference throws the same), as "path | message". */
function refused(doc: unknown): string {
  const got = outcome(doc);
  expect(got.startsWith('EncodeError ')).toBe(true);
  return got.slice('EncodeError '.length);
}

type W = [at: number, width: 1 | 2 | 4 | 8, value: number | bigint];
function image(length: number, writes: W[]): string {
  const b = new Uint8Array(length);
  const dv = new DataView(b.buffer);
  for (const [at, w, v] of writes) {
    if (w === 8) dv.setBigUint64(at, BigInt.asUintN(64, BigInt(v)), true);
    else if (w === 4) dv.setUint32(at, Number(BigInt.asUintN(32, BigInt(v))), true);
    else if (w === 2) dv.setUint16(at, Number(v), true);
    else dv.setUint8(at, Number(v));
  }
  return hex(b);
}

interface BlockPlaces {
  size: number;
  next: number;
  dep: number;
  status: number;
  ctx: number;
  ptr: 4 | 8;
}
const B64: BlockPlaces = { size: 152, next: 8, dep: 16, status: 24, ctx: 48, ptr: 8 };
const B86: BlockPlaces = { size: 76, next: 4, dep: 8, status: 12, ctx: 24, ptr: 4 };
const X64_BASE = 0xffffc00000000000n;
const X86_BASE = 0x80000000n;

/** The writes of a block's Header (Type, Size), NextBlock, DependentBlockList, Status and context pointer. */
function block(L: BlockPlaces, at: number, o: { type?: number; size?: number; next?: bigint; dep?: bigint; status?: number; ctx?: bigint } = {}): W[] {
  return [
    [at, 1, o.type ?? 0],
    [at + 2, 2, o.size ?? L.size],
    [at + L.next, L.ptr, o.next ?? 0n],
    [at + L.dep, L.ptr, o.dep ?? 0n],
    [at + L.status, 4, o.status ?? 0],
    [at + L.ctx, L.ptr, o.ctx ?? 0n],
  ];
}

const tcpBlock = (b: BlockInput): EncodeInput => ({ blocks: [{ role: 'placeholder', dependents: [{ role: 'placeholder', dependents: [b] }] }] });

describe('encodeTree: whole bytes of a small tree, x64 and x86', () => {
  const doc = (cell: string): EncodeInput => ({
    blocks: [
      {
        role: 'linker',
        type: 'NeighborOffloadConstState',
        Status: 'NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS',
        '*MiniportOffloadContext': cell,
        dependents: [
          {
            type: 'Ip4OffloadConstState',
            state: { PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '10.0.0.1', '*DestinationAddress': '192.168.001.254' } },
            dependents: [{ role: 'placeholder' }],
          },
        ],
      },
      { role: 'new-offload', type: 'NeighborOffloadConstState', state: { NEIGHBOR_OFFLOAD_STATE_CONST: { VlanId: 4095 } } },
    ],
  });

  it('x64: blocks, state, context cells and address bytes where the layout rules put them', () => {
    const B = X64_BASE;
    const enc = encodeTree(doc('0xffffc70a0f6e2a40'));
    expect(enc.base).toBe(B);
    expect(enc.root).toBe(B);
    expect(enc.abi).toBe(X64);
    expect(enc.ndis).toBe('6.1');
    // linker @0 (cell @152), Ip4 path @160 (state @312, cell @336, addresses @344 and @348),
    // placeholder @352, neighbor @504 (state @656..700, cell aligned to @704), 712 bytes.
    const want = image(712, [
      ...block(B64, 0, { type: 1, next: B + 504n, dep: B + 160n, status: 0x40020004, ctx: B + 152n }),
      [152, 8, 0xffffc70a0f6e2a40n],
      ...block(B64, 160, { type: 5, dep: B + 352n, ctx: B + 336n }),
      [312, 4, 24],
      [320, 8, B + 344n],
      [328, 8, B + 348n],
      [344, 4, 0x0100000a],
      [348, 4, 0xfe01a8c0],
      ...block(B64, 352),
      ...block(B64, 504, { type: 1, ctx: B + 704n }),
      [656, 4, 44],
      [696, 4, 4095],
    ]);
    expect(hex(enc.bytes)).toBe(want);
    expect(bytesOf(doc('0xffffc70a0f6e2a40'))).toBe(want);
  });

  it('x86: the same tree with 4-byte pointers and a 76-byte block', () => {
    const B = X86_BASE;
    const d = { ...doc('0x8f6e2a40'), abi: 'x86' };
    const enc = encodeTree(d);
    expect(enc.base).toBe(B);
    expect(enc.abi).toBe(X86);
    // linker @0 (cell @76), path @80 (state @156, cell @172, addresses @176, @180), placeholder @184,
    // neighbor @260 (state @336, cell @380), 384 bytes.
    const want = image(384, [
      ...block(B86, 0, { type: 1, next: B + 260n, dep: B + 80n, status: 0x40020004, ctx: B + 76n }),
      [76, 4, 0x8f6e2a40],
      ...block(B86, 80, { type: 5, dep: B + 184n, ctx: B + 172n }),
      [156, 4, 16],
      [164, 4, B + 176n],
      [168, 4, B + 180n],
      [176, 4, 0x0100000a],
      [180, 4, 0xfe01a8c0],
      ...block(B86, 184),
      ...block(B86, 260, { type: 1, ctx: B + 380n }),
      [336, 4, 44],
      [376, 4, 4095],
    ]);
    expect(hex(enc.bytes)).toBe(want);
    expect(bytesOf(d)).toBe(want);
    // The ABI given as an option wins over the document's; so does the revision.
    expect(hex(encodeTree({ ...d, abi: 'x64' }, { abi: X86 }).bytes)).toBe(want);
    expect(encodeTree({ ...d, ndis: '6.1' }, { ndis: '6.0' }).ndis).toBe('6.0');
  });

  it('an empty document is one aligned block of zeros at the base; base 0 fits', () => {
    expect(bytesOf({ blocks: [] })).toBe('00'.repeat(8));
    expect(bytesOf({ abi: 'x86', blocks: [] })).toBe('00'.repeat(4));
    const zero = encodeTree({ blocks: [{ role: 'placeholder' }, { role: 'linker' }] }, { base: 0n });
    expect(zero.base).toBe(0n);
    // The linker without a context value: its cell holds its own address.
    expect(hex(zero.bytes)).toBe(image(312, [...block(B64, 0, { next: 152n }), ...block(B64, 152, { ctx: 304n }), [304, 8, 152n]]));
    const z86 = encodeTree({ abi: 'x86', blocks: [{ role: 'linker' }] }, { base: 0n });
    expect(hex(z86.bytes)).toBe(image(80, [...block(B86, 0, { ctx: 76n }), [76, 4, 0]]));
  });

  it('a block left misaligned by its state: the next block and the context cell are aligned to 8 on x64', () => {
    const B = X64_BASE;
    // A placeholder with 44 bytes of state ends at 196: the next block goes to 200.
    const d = {
      blocks: [
        { role: 'placeholder', type: 'NeighborOffloadCachedState', state: { NEIGHBOR_OFFLOAD_STATE_CACHED: {} } },
        { role: 'new-offload', type: 'NeighborOffloadDelegatedState', state: { NEIGHBOR_OFFLOAD_STATE_DELEGATED: { NicReachabilityDelta: 7 } } },
      ],
    };
    // Second block @200, its 12 bytes of state @352..364, cell @368, 376 bytes.
    expect(bytesOf(d)).toBe(
      image(376, [...block(B64, 0, { type: 2, next: B + 200n }), [152, 4, 44], ...block(B64, 200, { type: 3, ctx: B + 368n }), [352, 4, 12], [360, 4, 7]]),
    );
    // The same on x86 needs no padding: 76 + 44 = 120, 120 + 76 + 12 = 208, cell @208.
    expect(bytesOf({ ...d, abi: 'x86' })).toBe(
      image(212, [...block(B86, 0, { type: 2, next: X86_BASE + 120n }), [76, 4, 44], ...block(B86, 120, { type: 3, ctx: X86_BASE + 208n }), [196, 4, 12], [204, 4, 7]]),
    );
  });

  it('a placeholder with state ending the image: the length is rounded up to the block alignment', () => {
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'NeighborOffloadDelegatedState', state: { NEIGHBOR_OFFLOAD_STATE_DELEGATED: {} } }] })).toBe(
      image(168, [...block(B64, 0, { type: 3 }), [152, 4, 12]]),
    );
  });

  it('only the state parts given are written, but the whole state is reserved; no address bytes without the const part', () => {
    const B = X64_BASE;
    const d = { blocks: [{ type: 'Ip4OffloadState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 } } }, { role: 'placeholder' }] };
    // state @152..200 (const @152, cached @176, delegated @188), cell @200, next block @208.
    expect(bytesOf(d)).toBe(image(360, [...block(B64, 0, { type: 8, next: B + 208n, ctx: B + 200n }), [176, 4, 12], [184, 4, 1500], ...block(B64, 208)]));
    // A part given as undefined is no part.
    const u = { blocks: [{ type: 'Ip4OffloadState', state: { PATH_OFFLOAD_STATE_CONST: undefined, PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 } } }, { role: 'placeholder' }] };
    expect(bytesOf(u)).toBe(bytesOf(d));
  });

  it('all three parts, in any key order, with IPv6 addresses after the cell', () => {
    const B = X64_BASE;
    const state = {
      PATH_OFFLOAD_STATE_DELEGATED: {},
      PATH_OFFLOAD_STATE_CACHED: { PathMtu: 9000 },
      PATH_OFFLOAD_STATE_CONST: { '*DestinationAddress': 'fe80::1', '*SourceAddress': '2001:db8::7' },
    };
    const want = image(240, [
      ...block(B64, 0, { type: 12, ctx: B + 200n }),
      [152, 4, 24],
      [160, 8, B + 208n],
      [168, 8, B + 224n],
      [176, 4, 12],
      [184, 4, 9000],
      [188, 4, 8],
      [208, 4, 0xb80d0120],
      [220, 4, 0x07000000],
      [224, 2, 0x80fe],
      [236, 4, 0x01000000],
    ]);
    expect(bytesOf({ blocks: [{ type: 'Ip6OffloadState', state }] })).toBe(want);
    // Address text missing: the pointers still point at the (zero) bytes reserved for it.
    const noText = image(240, [...block(B64, 0, { type: 12, ctx: B + 200n }), [152, 4, 24], [160, 8, B + 208n], [168, 8, B + 224n]]);
    expect(bytesOf({ blocks: [{ type: 'Ip6OffloadState', state: { PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': 5 } } }] })).toBe(noText);
  });
});

describe('encodeTree refuses, with the whole message and the path', () => {
  const cases: [string, unknown, string][] = [
    ['no document', null, '$ | $: expected a document with a "blocks" array'],
    ['a number', 5, '$ | $: expected a document with a "blocks" array'],
    ['no blocks', {}, '$ | $: expected a document with a "blocks" array'],
    ['blocks that are an object', { blocks: { 0: {} } }, '$ | $: expected a document with a "blocks" array'],
    ['another format', { format: 'ndis-offload-tree/2', blocks: [] }, "$.format | $.format: unsupported format 'ndis-offload-tree/2' (expected ndis-offload-tree/1)"],
    ['an unknown ABI', { abi: 'arm64', blocks: [] }, "$.abi | $.abi: unknown ABI 'arm64'"],
    ['an unknown revision', { ndis: '6.2', blocks: [] }, "$.ndis | $.ndis: unknown NDIS revision '6.2'"],
    ['a null block', { blocks: [{}, null] }, 'blocks[1] | blocks[1]: expected a block object'],
    ['a number as a dependent', { blocks: [{ dependents: [{}, {}, 7] }] }, 'blocks[0].dependents[2] | blocks[0].dependents[2]: expected a block object'],
    ['dependents that are an object', { blocks: [{}, { dependents: {} }] }, 'blocks[1].dependents | blocks[1].dependents: expected an array'],
    [
      'dependents of a TCP block',
      { blocks: [{ dependents: [{}, { dependents: [{}, {}, { dependents: [{}] }] }] }] },
      'blocks[0].dependents[1].dependents[2].dependents | blocks[0].dependents[1].dependents[2].dependents: a TCP block cannot have dependents',
    ],
    ['an unknown type', { blocks: [{}, { type: 'Nope' }] }, "blocks[1].type | blocks[1].type: unknown OFFLOAD_STATE_TYPE 'Nope'"],
    ['an unknown role', { blocks: [{}, { role: 'owner' }] }, "blocks[1].role | blocks[1].role: unknown role 'owner' (expected placeholder, linker, new-offload)"],
    ['a null role', { blocks: [{ dependents: [{ role: null }] }] }, "blocks[0].dependents[0].role | blocks[0].dependents[0].role: unknown role 'null' (expected placeholder, linker, new-offload)"],
    ['the type is judged before the role', { blocks: [{ role: 'owner', type: 'Nope' }] }, "blocks[0].type | blocks[0].type: unknown OFFLOAD_STATE_TYPE 'Nope'"],
    ['a role of a later block before a Status of an earlier one', { blocks: [{ Status: 'NDIS_STATUS_BOGUS' }, { role: 'owner' }] }, "blocks[1].role | blocks[1].role: unknown role 'owner' (expected placeholder, linker, new-offload)"],
    [
      'an unknown status name',
      { blocks: [{ Status: 'NDIS_STATUS_BOGUS' }] },
      "blocks[0].Status | blocks[0].Status: unknown NDIS_STATUS name 'NDIS_STATUS_BOGUS'; a status is a WDK name, `unknown (0x…)`, a hex word or a number",
    ],
    ['a status past 32 bits', { blocks: [{ Status: 2 ** 32 }] }, 'blocks[0].Status | blocks[0].Status: 4294967296 does not fit the member (-2147483648..2147483647)'],
    ['a status below -2^31', { blocks: [{ Status: -2147483649 }] }, 'blocks[0].Status | blocks[0].Status: -2147483649 does not fit the member (-2147483648..2147483647)'],
    ['a fractional status', { blocks: [{ Status: 1.5 }] }, 'blocks[0].Status | blocks[0].Status: expected an integer, got 1.5'],
    ['a status object with an unknown name and a bad value', { blocks: [{ Status: { name: 'unknown (0x1)', value: 1.5 } }] }, 'blocks[0].Status.value | blocks[0].Status.value: expected an integer, got 1.5'],
    ['state without a type', { blocks: [{ state: {} }] }, "blocks[0].state | blocks[0].state: a block of type '?' carries no state"],
    ['state of an unknown type', { blocks: [{ type: 'unknown (99)', state: { X: {} } }] }, "blocks[0].state | blocks[0].state: a block of type 'unknown (99)' carries no state"],
    ['a type given as a number', { blocks: [{ type: 5, state: {} }] }, 'blocks[0].type | blocks[0].type: expected an OFFLOAD_STATE_TYPE name, got 5'],
    ['state of a type without parts', { blocks: [{ role: 'linker', type: 'TcpOffloadResourceState', state: {} }] }, "blocks[0].state | blocks[0].state: a block of type 'TcpOffloadResourceState' carries no state"],
    ['state that is a list', { blocks: [{ type: 'Ip4OffloadCachedState', state: [] }] }, 'blocks[0].state | blocks[0].state: expected an object of state parts'],
    [
      'a part of another layer',
      { blocks: [{ type: 'Ip4OffloadState', state: { PATH_OFFLOAD_STATE_CACHED: {}, TCP_OFFLOAD_STATE_CONST: {} } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_CONST | blocks[0].state.TCP_OFFLOAD_STATE_CONST: not a part of Ip4OffloadState (parts: PATH_OFFLOAD_STATE_CONST, PATH_OFFLOAD_STATE_CACHED, PATH_OFFLOAD_STATE_DELEGATED)',
    ],
    ['a part that is a number', { blocks: [{ type: 'Ip4OffloadState', state: { PATH_OFFLOAD_STATE_CACHED: 5 } }] }, 'blocks[0].state.PATH_OFFLOAD_STATE_CACHED | blocks[0].state.PATH_OFFLOAD_STATE_CACHED: expected an object'],
    ['a misspelt block member', { blocks: [{ role: 'placeholder', PortNumbr: 1 }] }, 'blocks[0].PortNumbr | blocks[0].PortNumbr: no such member'],
    ['a misspelt part member', { blocks: [{ type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { Mtu: 1 } } }] }, 'blocks[0].state.PATH_OFFLOAD_STATE_CACHED.Mtu | blocks[0].state.PATH_OFFLOAD_STATE_CACHED.Mtu: no such member'],
    [
      'a misspelt member of a part header',
      { blocks: [{ type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { Header: { Length: 12, Len: 1 } } } }] },
      'blocks[0].state.PATH_OFFLOAD_STATE_CACHED.Header.Len | blocks[0].state.PATH_OFFLOAD_STATE_CACHED.Header.Len: no such member',
    ],
    [
      'a ULONG past 32 bits',
      { blocks: [{ type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 2 ** 32 } } }] },
      'blocks[0].state.PATH_OFFLOAD_STATE_CACHED.PathMtu | blocks[0].state.PATH_OFFLOAD_STATE_CACHED.PathMtu: 4294967296 does not fit the member (0..4294967295)',
    ],
    [
      'a negative ULONG',
      { blocks: [{ type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: -1 } } }] },
      'blocks[0].state.PATH_OFFLOAD_STATE_CACHED.PathMtu | blocks[0].state.PATH_OFFLOAD_STATE_CACHED.PathMtu: -1 does not fit the member (0..4294967295)',
    ],
    [
      'a fractional ULONG',
      { blocks: [{ type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 0.5 } } }] },
      'blocks[0].state.PATH_OFFLOAD_STATE_CACHED.PathMtu | blocks[0].state.PATH_OFFLOAD_STATE_CACHED.PathMtu: expected an integer, got 0.5',
    ],
    [
      'a 12-bit field at 4096',
      { blocks: [{ type: 'NeighborOffloadConstState', state: { NEIGHBOR_OFFLOAD_STATE_CONST: { VlanId: 4096 } } }] },
      'blocks[0].state.NEIGHBOR_OFFLOAD_STATE_CONST.VlanId | blocks[0].state.NEIGHBOR_OFFLOAD_STATE_CONST.VlanId: 4096 does not fit a 12-bit field (0..4095)',
    ],
    [
      'a negative bit-field',
      { blocks: [{ type: 'NeighborOffloadConstState', state: { NEIGHBOR_OFFLOAD_STATE_CONST: { VlanId: -1 } } }] },
      'blocks[0].state.NEIGHBOR_OFFLOAD_STATE_CONST.VlanId | blocks[0].state.NEIGHBOR_OFFLOAD_STATE_CONST.VlanId: -1 does not fit a 12-bit field (0..4095)',
    ],
    [
      'a USHORT at 65536',
      tcpBlock({ type: 'TcpOffloadConstState', state: { TCP_OFFLOAD_STATE_CONST: { RemotePort: 65536 } } }),
      'blocks[0].dependents[0].dependents[0].state.TCP_OFFLOAD_STATE_CONST.RemotePort | blocks[0].dependents[0].dependents[0].state.TCP_OFFLOAD_STATE_CONST.RemotePort: 65536 does not fit the member (0..65535)',
    ],
    [
      'a UCHAR at 256',
      { blocks: [{ type: 'TcpOffloadCachedState', state: { TCP_OFFLOAD_STATE_CACHED: { KaProbeCount: 256 } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_CACHED.KaProbeCount | blocks[0].state.TCP_OFFLOAD_STATE_CACHED.KaProbeCount: 256 does not fit the member (0..255)',
    ],
    [
      'a 3-bit field at 8',
      { blocks: [{ type: 'TcpOffloadCachedState', state: { TCP_OFFLOAD_STATE_CACHED: { UserPriority: 8 } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_CACHED.UserPriority | blocks[0].state.TCP_OFFLOAD_STATE_CACHED.UserPriority: 8 does not fit a 3-bit field (0..7)',
    ],
    [
      'a pointer number past 2^53',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { BufferedData: 2 ** 53 } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.BufferedData | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.BufferedData: expected an integer, got 9007199254740992',
    ],
    [
      'a pointer of 17 digits past 2^64',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { SendDataHead: '0x10000000000000000' } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendDataHead | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendDataHead: 0x10000000000000000 does not fit the member (0..18446744073709551615)',
    ],
    [
      'a pointer that is not hex',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { SendDataTail: '0xfffg' } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendDataTail | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendDataTail: expected an integer, got "0xfffg"',
    ],
    [
      'a negative pointer',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { SendDataTail: -1 } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendDataTail | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendDataTail: -1 does not fit the member (0..18446744073709551615)',
    ],
    [
      'a nested struct that is null',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { KeepAlive: null } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.KeepAlive | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.KeepAlive: expected an object',
    ],
    [
      'a nested struct that is a number',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { Retransmit: 5 } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.Retransmit | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.Retransmit: expected an object',
    ],
    [
      'a nested struct that is a list',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { Retransmit: [1] } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.Retransmit | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.Retransmit: expected an object',
    ],
    [
      'a nested struct that is bytes',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { KeepAlive: new Uint8Array(8) } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.KeepAlive | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.KeepAlive: expected an object',
    ],
    [
      'a member of a nested struct out of range',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { KeepAlive: { ProbeCount: 256 } } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.KeepAlive.ProbeCount | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.KeepAlive.ProbeCount: 256 does not fit the member (0..255)',
    ],
    [
      'a connection state name no header defines',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { State: 'TcpConnectionOpen' } } }] },
      "blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.State | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.State: unknown TCP_OFFLOAD_CONNECTION_STATE 'TcpConnectionOpen' (did you mean TcpConnectionClosed, TcpConnectionListen or TcpConnectionSynSent?)",
    ],
    [
      'a union member given as undefined',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { SendBacklogSize: undefined } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendBacklogSize | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendBacklogSize: expected an integer, got undefined',
    ],
    [
      'two union members that disagree',
      { blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { SendDataHead: '0x2', SendBacklogSize: 1 } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendDataHead | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendDataHead: conflicts with SendDataHead, SendBacklogSize: they share bytes of one union; give one of them',
    ],
    [
      'DWnd in NDIS 6.0',
      { ndis: '6.0', blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { DWnd: 1 } } }] },
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.DWnd | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.DWnd: no such member',
    ],
    ['a base that is no number', { base: 'kernel', blocks: [] }, '$.base | $.base: expected an integer, got "kernel"'],
    ['a base past 2^64', { base: '0x10000000000000000', blocks: [] }, '$.base | $.base: 0x10000000000000000 does not fit the member (0..18446744073709551615)'],
    ['an x86 base past 2^32', { abi: 'x86', base: '0x100000000', blocks: [] }, '$.base | $.base: 0x100000000 does not fit the member (0..4294967295)'],
    ['an x64 image running past 2^64', { base: '0xffffffffffffff00', blocks: [{}, {}] }, '$.base | $.base: the image does not fit a 64-bit address space'],
    ['an x86 image running past 2^32', { abi: 'x86', base: '0xffffffb8', blocks: [{}] }, '$.base | $.base: the image does not fit a 32-bit address space'],
    ['the base before any Status', { base: '0xffffffffffffff00', blocks: [{ Status: 'bogus' }, {}] }, '$.base | $.base: the image does not fit a 64-bit address space'],
  ];
  for (const [name, doc, want] of cases) {
    it(name, () => {
      expect(refused(doc)).toBe(want);
    });
  }

  it('a base given as an option is checked as the document\'s is', () => {
    expect(refusal(() => encodeTree({ blocks: [] }, { base: -1n }))).toBe('$.base | $.base: the image does not fit a 64-bit address space');
    expect(refusal(() => encodeTree({ abi: 'x86', blocks: [] }, { base: 0xfffffffdn }))).toBe('$.base | $.base: the image does not fit a 32-bit address space');
    expect(refusal(() => encodeTree({ base: '0x1000', blocks: [] }, { base: 1n << 64n }))).toBe('$.base | $.base: the image does not fit a 64-bit address space');
    // The option wins over the document's base, even one that would not parse.
    expect(encodeTree({ base: 'kernel', blocks: [] }, { base: 0x1000n }).base).toBe(0x1000n);
    expect(encodeTree({ abi: 'x86', base: null, blocks: [] }).base).toBe(X86_BASE);
    expect(encodeTree({ abi: 'x86', base: '0x1000', blocks: [] }).base).toBe(0x1000n);
  });
});

describe('the context cell of a linker', () => {
  const linker = (cell: unknown, abi = 'x64'): EncodeInput => ({ abi, blocks: [{ role: 'linker', '*MiniportOffloadContext': cell }] });
  const cellOf = (cell: unknown, abi = 'x64'): string => {
    const bytes = bytesOf(linker(cell, abi));
    return abi === 'x64' ? bytes.slice(152 * 2, 160 * 2) : bytes.slice(76 * 2, 80 * 2);
  };
  const le = (v: bigint, n: number): string => image(n, [[0, n as 4 | 8, v]]);

  it('"0x" and 1 to 16 hex digits, lower or upper case, on x64', () => {
    const digits = '123456789abcdef0';
    for (let d = 1; d <= 16; d++) {
      const text = digits.slice(0, d);
      expect(cellOf(`0x${text}`), text).toBe(le(BigInt(`0x${text}`), 8));
      expect(cellOf(`0x${text.toUpperCase()}`), text).toBe(le(BigInt(`0x${text}`), 8));
    }
    expect(cellOf('0xffffffffffffffff')).toBe('ff'.repeat(8));
    expect(cellOf('0x8000000000000000')).toBe(le(1n << 63n, 8));
    expect(cellOf('0x100000000')).toBe(le(1n << 32n, 8));
    expect(cellOf('0xffffffff')).toBe(le(0xffffffffn, 8));
    expect(cellOf('0x00000000ffffffff')).toBe(le(0xffffffffn, 8));
    expect(cellOf('0x0000000100000000')).toBe(le(1n << 32n, 8));
  });

  it('other spellings the general code accepts: 17 digits with a leading zero, 0X, spaces, decimal, numbers', () => {
    expect(cellOf('0x00000000000000001')).toBe(le(1n, 8));
    expect(cellOf('0X1F')).toBe(le(31n, 8));
    expect(cellOf(' 0x10 ')).toBe(le(16n, 8));
    expect(cellOf('4660')).toBe(le(0x1234n, 8));
    expect(cellOf(2 ** 53 - 1)).toBe(le(2n ** 53n - 1n, 8));
    expect(cellOf(2 ** 32)).toBe(le(2n ** 32n, 8));
    expect(cellOf(0xffffc70a0f6e2a40n)).toBe(le(0xffffc70a0f6e2a40n, 8));
  });

  it('x86: 4 bytes, up to 0xffffffff, leading zeros beyond 8 digits allowed', () => {
    expect(cellOf('0xffffffff', 'x86')).toBe('ffffffff');
    expect(cellOf('0x8f6e2a40', 'x86')).toBe('402a6e8f');
    expect(cellOf('0x000000001', 'x86')).toBe('01000000');
    expect(cellOf('0x0000000000000002', 'x86')).toBe('02000000');
    expect(cellOf(4294967295, 'x86')).toBe('ffffffff');
    expect(cellOf('305419896', 'x86')).toBe('78563412');
    // The whole x86 image: the cell is the last 4 bytes, nothing written past it.
    expect(bytesOf(linker(12345, 'x86'))).toBe(image(80, [...block(B86, 0, { ctx: X86_BASE + 76n }), [76, 4, 12345]]));
  });

  it('NULL in any spelling is refused: a linker points to a non-NULL context', () => {
    for (const cell of ['0x0', '0x00000000', '0x0000000000000000', '0x00000000000000000', 0, '0', 0n]) {
      expect(refused(linker(cell)), String(cell)).toBe('blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: a linker points to a non-NULL context');
      expect(refused(linker(cell, 'x86')), String(cell)).toBe('blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: a linker points to a non-NULL context');
    }
    const nested = { blocks: [{}, { dependents: [{}, { role: 'linker', '*MiniportOffloadContext': '0x0000000000000000' }] }] };
    expect(refused(nested)).toBe('blocks[1].dependents[1].*MiniportOffloadContext | blocks[1].dependents[1].*MiniportOffloadContext: a linker points to a non-NULL context');
  });

  it('values that are no pointer of the ABI are refused', () => {
    expect(refused(linker('0x100000000', 'x86'))).toBe('blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: 0x100000000 does not fit the member (0..4294967295)');
    expect(refused(linker('0xffffc70a0f6e2a40', 'x86'))).toBe(
      'blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: 0xffffc70a0f6e2a40 does not fit the member (0..4294967295)',
    );
    expect(refused(linker(2 ** 32, 'x86'))).toBe('blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: 4294967296 does not fit the member (0..4294967295)');
    expect(refused(linker('0x10000000000000000'))).toBe(
      'blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: 0x10000000000000000 does not fit the member (0..18446744073709551615)',
    );
    expect(refused(linker('0xzz'))).toBe('blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: expected an integer, got "0xzz"');
    expect(refused(linker('0x'))).toBe('blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: expected an integer, got "0x"');
    expect(refused(linker(-5))).toBe('blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: -5 does not fit the member (0..18446744073709551615)');
    expect(refused(linker(null))).toBe('blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: expected an integer, got null');
  });

  it('a new offload\'s cell holds NULL, a placeholder has none: a cell that says otherwise is refused (issue 22)', () => {
    expect(refused({ blocks: [{ role: 'new-offload', '*MiniportOffloadContext': '0x1234' }] })).toBe(
      "blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: 0x0000000000001234, but a new offload's cell holds NULL (the target writes its context there): give role linker, or *MiniportOffloadContext NULL",
    );
    expect(refused({ blocks: [{ role: 'placeholder', '*MiniportOffloadContext': '0x1234' }] })).toBe(
      'blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: a placeholder has no context cell (its MiniportOffloadContext is NULL): remove *MiniportOffloadContext, or give role linker (a non-NULL cell) or new-offload (a NULL cell)',
    );
    const d = { blocks: [{ role: 'new-offload', '*MiniportOffloadContext': '0x0' }, { role: 'placeholder' }] };
    expect(bytesOf(d)).toBe(image(312, [...block(B64, 0, { next: X64_BASE + 160n, ctx: X64_BASE + 152n }), ...block(B64, 160)]));
    // A block without a role: new-offload with state, placeholder without.
    const implied = { blocks: [{ type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: {} } }, { type: 'Ip4OffloadCachedState' }] };
    expect(bytesOf(implied)).toBe(image(328, [...block(B64, 0, { type: 6, next: X64_BASE + 176n, ctx: X64_BASE + 168n }), [152, 4, 12], ...block(B64, 176, { type: 6 })]));
  });
});

describe('Status', () => {
  const statusOf = (status: unknown, abi = 'x64', extra: Record<string, unknown> = {}): string => {
    const bytes = bytesOf({ abi, blocks: [{ role: 'placeholder', Status: status, ...extra }] });
    const at = abi === 'x64' ? 24 : 12;
    return bytes.slice(at * 2, at * 2 + 8);
  };
  const cases: [unknown, string][] = [
    ['NDIS_STATUS_SUCCESS', '00000000'],
    ['NDIS_STATUS_FAILURE', '010000c0'],
    ['NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS', '04000240'],
    ['NDIS_STATUS_PENDING', '03010000'],
    [0, '00000000'],
    [-1, 'ffffffff'],
    [0xffffffff, 'ffffffff'],
    [0x80000000, '00000080'],
    [-2147483648, '00000080'],
    [0x7fffffff, 'ffffff7f'],
    ['0xc0000001', '010000c0'],
    ['0xffffffff', 'ffffffff'],
    ['-5', 'fbffffff'],
    [{ value: -1073741823, hex: '0xc0000001', name: 'NDIS_STATUS_FAILURE' }, '010000c0'],
    [{ name: 'NDIS_STATUS_FAILURE', hex: 'C0000001', value: -1073741823 }, '010000c0'],
    [{ name: 'unknown (0x12345678)', hex: '12345678', value: 0x12345678 }, '78563412'],
    ['c0000001', '010000c0'],
    [{ name: 'unknown (0x12345678)', value: 0x12345678 }, '78563412'],
    [{ value: 7 }, '07000000'],
    [{ hex: '0x40020004' }, '04000240'],
  ];
  for (const [status, want] of cases) {
    it(`${JSON.stringify(status)} is ${want}, on both ABIs, with or without other members`, () => {
      expect(statusOf(status)).toBe(want);
      expect(statusOf(status, 'x86')).toBe(want);
      // Another member sends the block to the general code: the same Status.
      expect(statusOf(status, 'x64', { PortNumber: 3 })).toBe(want);
      expect(statusOf(status, 'x64', { Header: { Revision: 1 } })).toBe(want);
    });
  }

  it('a name that is an Object property is no status', () => {
    const e = refused({ blocks: [{ Status: 'toString' }] });
    expect(e.startsWith("blocks[0].Status | blocks[0].Status: unknown NDIS_STATUS name 'toString'")).toBe(true);
  });
});

describe('the block structure', () => {
  const B = X64_BASE;
  it('Header: Size and Revision given or defaulted; a Type given agrees with the type\'s', () => {
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'Ip4OffloadState', Header: { Size: 100 } }] })).toBe(image(152, block(B64, 0, { type: 8, size: 100 })));
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'Ip4OffloadState', Header: { Revision: 7 } }] })).toBe(image(152, [...block(B64, 0, { type: 8 }), [1, 1, 7]]));
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'Ip4OffloadState', Header: { Type: 8 } }] })).toBe(image(152, block(B64, 0, { type: 8 })));
    expect(refused({ blocks: [{ role: 'placeholder', type: 'Ip4OffloadState', Header: { Type: 9 } }] })).toBe(
      'blocks[0] | blocks[0]: its forms disagree: type "Ip4OffloadState" (Ip4OffloadState), Header.Type 9 (Ip6OffloadConstState); with no capture to tell the edited form from the others (compact mode lays out anew), give one form or make them agree',
    );
    expect(bytesOf({ abi: 'x86', blocks: [{ role: 'placeholder', Header: { Type: 200, Size: 0 } }] })).toBe(image(76, block(B86, 0, { type: 200, size: 0 })));
    // Without a type, Header.Type says it (and so which state may follow).
    const byHeader = { blocks: [{ type: 'unknown (6)', Header: { Type: 6 }, state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 576 } } }] };
    expect(bytesOf(byHeader)).toBe(image(176, [...block(B64, 0, { type: 6, ctx: B + 168n }), [152, 4, 12], [160, 4, 576]]));
    expect(bytesOf({ blocks: [{ Header: { Type: '6' }, state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 576 } } }] })).toBe(bytesOf(byHeader));
    // `unknown (N)` carries its value: written when nothing else is given.
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'unknown (99)' }] })).toBe(image(152, block(B64, 0, { type: 99 })));
    expect(bytesOf({ blocks: [{ role: 'placeholder', Header: { Type: 99 } }] })).toBe(image(152, block(B64, 0, { type: 99 })));
  });

  it('other members through the general code; the pointers, address and offset are laid out anew', () => {
    const d = {
      blocks: [
        {
          address: 'junk',
          offset: 'junk',
          layer: 'neighbor',
          role: 'placeholder',
          NextBlock: 'junk',
          DependentBlockList: 'junk',
          MiniportOffloadContext: 'junk',
          NdisOffloadHandle: '0x1122334455667788',
          SourceHandle: 2 ** 32 + 5,
          PortNumber: 0xffffffff,
          NetBufferListChain: '0xffffffffffffffff',
          Scratch: ['0x1', '0x2'],
          MiniportReserved: [3, 4],
          Status: 'NDIS_STATUS_FAILURE',
        },
      ],
    };
    expect(bytesOf(d)).toBe(
      image(152, [
        ...block(B64, 0, { status: 0xc0000001 }),
        [56, 8, 0x1122334455667788n],
        [80, 8, 3n],
        [88, 8, 4n],
        [112, 8, 1n],
        [120, 8, 2n],
        [128, 8, 2n ** 32n + 5n],
        [136, 4, 0xffffffff],
        [144, 8, 0xffffffffffffffffn],
      ]),
    );
  });

  it('a block of another kind than a plain object is written by the general code, alike', () => {
    class Block {
      role = 'placeholder';
      Status = 'NDIS_STATUS_FAILURE';
    }
    const d = { blocks: [new Block() as unknown as BlockInput, Object.assign(Object.create(null) as BlockInput, { role: 'placeholder', Status: -1 })] };
    expect(bytesOf(d)).toBe(image(304, [...block(B64, 0, { next: B + 152n, status: 0xc0000001 }), ...block(B64, 152, { status: 0xffffffff })]));
  });
});

describe('state parts', () => {
  const B = X64_BASE;
  const part = (type: string, name: string, json: unknown, abi = 'x64', ndis = '6.1'): string => {
    const bytes = bytesOf({ abi, ndis, blocks: [{ role: 'placeholder', type, state: { [name]: json as Record<string, unknown> } }] });
    return bytes.slice((abi === 'x64' ? 152 : 76) * 2);
  };

  it('Header.Length: the part size by default, else as given (0 included); RecognizedOptions alone keeps the default', () => {
    expect(part('Ip4OffloadCachedState', 'PATH_OFFLOAD_STATE_CACHED', {})).toBe(image(16, [[0, 4, 12]]));
    expect(part('Ip4OffloadCachedState', 'PATH_OFFLOAD_STATE_CACHED', { Header: { Length: 99 } })).toBe(image(16, [[0, 4, 99]]));
    expect(part('Ip4OffloadCachedState', 'PATH_OFFLOAD_STATE_CACHED', { Header: { Length: 0 }, PathMtu: 1 })).toBe(image(16, [[8, 4, 1]]));
    expect(part('Ip4OffloadCachedState', 'PATH_OFFLOAD_STATE_CACHED', { Header: { RecognizedOptions: 5 } })).toBe(image(16, [[0, 4, 12], [4, 4, 5]]));
    expect(part('Ip4OffloadCachedState', 'PATH_OFFLOAD_STATE_CACHED', { PathMtu: 1, Header: { Length: 7, RecognizedOptions: 0xffffffff } })).toBe(
      image(16, [[0, 4, 7], [4, 4, 0xffffffff], [8, 4, 1]]),
    );
    // A Header that is no object is no Header: the default Length.
    expect(part('Ip4OffloadCachedState', 'PATH_OFFLOAD_STATE_CACHED', { Header: null, PathMtu: 2 })).toBe(image(16, [[0, 4, 12], [8, 4, 2]]));
    expect(part('Ip4OffloadCachedState', 'PATH_OFFLOAD_STATE_CACHED', { Header: [], PathMtu: 2 })).toBe(image(16, [[0, 4, 12], [8, 4, 2]]));
    // A Header of another kind than a plain object goes to the general code: the same bytes.
    class Header {
      Length = 5;
    }
    expect(part('Ip4OffloadCachedState', 'PATH_OFFLOAD_STATE_CACHED', { Header: new Header() })).toBe(image(16, [[0, 4, 5]]));
    // 6.0 and x86: the sizes of their own layouts.
    expect(part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', {}, 'x64', '6.0')).toBe(image(120, [[0, 4, 120]]));
    expect(part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', {}, 'x86', '6.0')).toBe(image(108, [[0, 4, 108]]));
    expect(part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', {}, 'x86', '6.1')).toBe(image(112, [[0, 4, 112]]));
  });

  it('USHORTs, UCHARs and ULONGs at their maxima, each in its own bytes', () => {
    const want = image(24, [[0, 4, 24], [8, 2, 0xffff], [10, 2, 0x1234], [12, 2, 0x5678], [16, 2, 0xfffe], [20, 4, 0xffffffff]]);
    expect(part('TcpOffloadConstState', 'TCP_OFFLOAD_STATE_CONST', { Flags: 0xffff, RemotePort: 0x1234, LocalPort: 0x5678, RemoteMss: 0xfffe, HashValue: 0xffffffff })).toBe(want);
    const cached = { KaProbeCount: 255, TtlOrHopLimit: 254, TosOrTrafficClass: 1, InitialRcvWnd: 0xfffffffe, FlowLabel: 0xfffff, UserPriority: 7 };
    expect(part('TcpOffloadCachedState', 'TCP_OFFLOAD_STATE_CACHED', cached)).toBe(
      image(48, [[0, 4, 44], [12, 4, 0xfffffffe], [20, 1, 255], [36, 4, 0xfffff], [40, 1, 254], [41, 1, 1], [42, 1, 7]]),
    );
  });

  it('bit-fields sharing a byte keep each other\'s bits, in either order', () => {
    const scale = (o: Record<string, number>): string => part('TcpOffloadConstState', 'TCP_OFFLOAD_STATE_CONST', o).slice(14 * 2, 15 * 2);
    expect(scale({ SndWindScale: 15, RcvWindScale: 15 })).toBe('ff');
    expect(scale({ SndWindScale: 5, RcvWindScale: 10 })).toBe('a5');
    expect(scale({ RcvWindScale: 10, SndWindScale: 5 })).toBe('a5');
    expect(scale({ RcvWindScale: 15, SndWindScale: 0 })).toBe('f0');
    expect(scale({ SndWindScale: 15, RcvWindScale: 0 })).toBe('0f');
    expect(scale({ SndWindScale: 1 })).toBe('01');
    expect(scale({ RcvWindScale: 1 })).toBe('10');
    // A bit-field given as a string goes to the general code: the same bits.
    expect(scale({ RcvWindScale: '0xa' as unknown as number, SndWindScale: 5 })).toBe('a5');
    expect(part('NeighborOffloadConstState', 'NEIGHBOR_OFFLOAD_STATE_CONST', { VlanId: 4095, DlSourceAddress: '00155d4a1b2c' })).toBe(
      image(48, [[0, 4, 44], [8, 4, 0x4a5d1500], [12, 2, 0x2c1b], [40, 4, 4095]]),
    );
  });

  it('a one-byte bit-field in the last bytes of the image reads and writes that byte only', () => {
    // x86: block @0 (76 bytes), TCP cached state @76..120, the image's end: UserPriority @118.
    const d = { abi: 'x86', blocks: [{ role: 'placeholder', type: 'TcpOffloadCachedState', state: { TCP_OFFLOAD_STATE_CACHED: { TosOrTrafficClass: 0xff, UserPriority: 5 } } }] };
    expect(bytesOf(d)).toBe(image(120, [...block(B86, 0, { type: 14 }), [76, 4, 44], [117, 1, 0xff], [118, 1, 5]]));
  });

  it('pointers in state: numbers and hex of every length, 2^32, 2^53 - 1, all ones, NULL', () => {
    const ptr = (v: unknown, abi = 'x64'): string => {
      const s = part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', { BufferedData: v }, abi);
      return abi === 'x64' ? s.slice(112 * 2, 120 * 2) : s.slice(104 * 2, 108 * 2);
    };
    const le8 = (v: bigint): string => image(8, [[0, 8, v]]);
    const digits = 'fedcba9876543210';
    for (let d = 1; d <= 16; d++) expect(ptr(`0x${digits.slice(0, d)}`), String(d)).toBe(le8(BigInt(`0x${digits.slice(0, d)}`)));
    expect(ptr(2 ** 32)).toBe(le8(1n << 32n));
    expect(ptr(2 ** 32 - 1)).toBe(le8(0xffffffffn));
    expect(ptr(2 ** 53 - 1)).toBe(le8(2n ** 53n - 1n));
    expect(ptr(0)).toBe(le8(0n));
    expect(ptr('0x0000000000000000')).toBe(le8(0n));
    expect(ptr('0xffffffffffffffff')).toBe(le8(0xffffffffffffffffn));
    expect(ptr('0x8000000000000000')).toBe(le8(1n << 63n));
    expect(ptr('0x00000000000000001')).toBe(le8(1n));
    expect(ptr(' 0x10')).toBe(le8(16n));
    expect(ptr('0xffffffff', 'x86')).toBe('ffffffff');
    expect(ptr(4294967295, 'x86')).toBe('ffffffff');
    expect(ptr('0x000000000000abcd', 'x86')).toBe('cdab0000');
    expect(ptr('0x1', 'x86')).toBe('01000000');
    // x86: a pointer is 4 bytes; DWnd right after BufferedData keeps its value.
    for (const v of ['0x1', 1]) {
      expect(part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', { DWnd: 0x12345678, BufferedData: v }, 'x86')).toBe(image(112, [[0, 4, 112], [104, 4, 1], [108, 4, 0x12345678]]));
    }
    expect(refused({ abi: 'x86', blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { BufferedData: '0x100000000' } } }] })).toBe(
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.BufferedData | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.BufferedData: 0x100000000 does not fit the member (0..4294967295)',
    );
    expect(refused({ abi: 'x86', blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { BufferedData: 2 ** 32 } } }] })).toBe(
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.BufferedData | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.BufferedData: 4294967296 does not fit the member (0..4294967295)',
    );
  });

  it('unions: one alternative, both members of one, or two that agree', () => {
    const delegated = (o: Record<string, unknown>, abi = 'x64'): string => part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', o, abi);
    const len = image(128, [[0, 4, 128]]);
    expect(delegated({ SendBacklogSize: 0xffffffff })).toBe(image(128, [[0, 4, 128], [96, 4, 0xffffffff]]));
    expect(delegated({ SendDataHead: '0x1122334455667788', SendDataTail: 5 })).toBe(image(128, [[0, 4, 128], [96, 8, 0x1122334455667788n], [104, 8, 5n]]));
    expect(delegated({ ReceiveBacklogSize: 7, SendBacklogSize: 9, DWnd: 3 })).toBe(image(128, [[0, 4, 128], [96, 4, 9], [112, 4, 7], [120, 4, 3]]));
    expect(delegated({ BufferedData: '0xffffffff00000001' })).toBe(image(128, [[0, 4, 128], [112, 8, 0xffffffff00000001n]]));
    // Two alternatives: the general code writes what differs and checks that they agree.
    expect(delegated({ SendDataHead: '0x1', SendBacklogSize: 1 })).toBe(image(128, [[0, 4, 128], [96, 4, 1]]));
    expect(delegated({ SendBacklogSize: 0, SendDataHead: 0 })).toBe(len);
    expect(delegated({ SendDataHead: '0x7', SendDataTail: '0x8', SendBacklogSize: 7 }, 'x86')).toBe(image(112, [[0, 4, 112], [96, 4, 7], [100, 4, 8]]));
    expect(delegated({ BufferedData: '0x100000001', ReceiveBacklogSize: 1 })).toBe(image(128, [[0, 4, 128], [112, 8, 0x100000001n]]));
    expect(refused({ blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { BufferedData: '0x100000002', ReceiveBacklogSize: 1 } } }] })).toBe(
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.BufferedData | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.BufferedData: conflicts with BufferedData, ReceiveBacklogSize: they share bytes of one union; give one of them',
    );
    // An out-of-range member of a union: the general code's message.
    expect(refused({ blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { SendBacklogSize: 2 ** 32 } } }] })).toBe(
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendBacklogSize | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.SendBacklogSize: 4294967296 does not fit the member (0..4294967295)',
    );
  });

  it('the connection state by name, by the decoder\'s object, or as a number', () => {
    const state = (v: unknown): string => part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', { State: v }).slice(8 * 2, 12 * 2);
    expect(state('TcpConnectionEstablished')).toBe('04000000');
    expect(state('TcpConnectionClosed')).toBe('00000000');
    expect(state('TcpConnectionMaxState')).toBe('0b000000');
    expect(state({ name: 'TcpConnectionTimeWait', value: 10 })).toBe('0a000000');
    expect(state({ name: 'unknown (12)', value: 12 })).toBe('0c000000');
    expect(state({ value: 3 })).toBe('03000000');
    expect(state(0xffffffff)).toBe('ffffffff');
    expect(state('7')).toBe('07000000');
  });

  it('nested structures and their members', () => {
    const d = part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', { KeepAlive: { ProbeCount: 255, TimeoutDelta: 0xfffffffe }, Retransmit: { Count: 3 }, DupAckCount: 2, SRtt: 0xffff });
    expect(d).toBe(image(128, [[0, 4, 128], [56, 2, 0xffff], [76, 1, 2], [80, 1, 255], [84, 4, 0xfffffffe], [88, 1, 3]]));
    // A nested structure of another kind than a plain object: the general code, the same bytes.
    class Retransmit {
      Count = 9;
    }
    expect(part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', { Retransmit: new Retransmit() })).toBe(image(128, [[0, 4, 128], [88, 1, 9]]));
    expect(part('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', { Retransmit: Object.assign(Object.create(null), { Count: 9 }) })).toBe(image(128, [[0, 4, 128], [88, 1, 9]]));
  });

  it('the address pointers given in state are recomputed, and keys starting with * other than the addresses are ignored', () => {
    const state = { PATH_OFFLOAD_STATE_CONST: { SourceAddress: 'junk', DestinationAddress: 2 ** 60, '*SourceAddress': '1.2.3.4', '*Other': 'x' } };
    expect(bytesOf({ blocks: [{ type: 'Ip4OffloadConstState', state }] })).toBe(
      image(192, [...block(B64, 0, { type: 5, ctx: B + 176n }), [152, 4, 24], [160, 8, B + 184n], [168, 8, B + 188n], [184, 4, 0x04030201]]),
    );
  });

  it('state objects and parts of another kind than plain objects: the general code, the same bytes', () => {
    class State {
      PATH_OFFLOAD_STATE_CACHED = { PathMtu: 1500 };
    }
    class Cached {
      PathMtu = 1500;
    }
    const want = image(176, [...block(B64, 0, { type: 6, ctx: B + 168n }), [152, 4, 12], [160, 4, 1500]]);
    expect(bytesOf({ blocks: [{ type: 'Ip4OffloadCachedState', state: new State() as never }] })).toBe(want);
    expect(bytesOf({ blocks: [{ type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: new Cached() as never } }] })).toBe(want);
    expect(bytesOf({ blocks: [{ type: 'Ip4OffloadCachedState', state: Object.assign(Object.create(null), { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 } }) }] })).toBe(want);
  });

  it('parts of one layout with different keys in one document: each written by its own keys', () => {
    const blocks = [
      { PathMtu: 1 },
      { Header: { Length: 3 }, PathMtu: 2 },
      { PathMtu: 3, Header: { Length: 4, RecognizedOptions: 1 } },
      { PathMtu: 4 },
      { Header: { Length: 5 } },
      { PathMtu: 6, Nope: 1 },
    ].map((c) => ({ role: 'placeholder', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: c } }));
    expect(refused({ blocks })).toBe('blocks[5].state.PATH_OFFLOAD_STATE_CACHED.Nope | blocks[5].state.PATH_OFFLOAD_STATE_CACHED.Nope: no such member');
    blocks.pop();
    // Each block 152 + 12 = 164 bytes, the next at a multiple of 8: @0, @168, @336, @504, @672.
    const want: W[] = [];
    const parts: [number, number, number, number][] = [
      [12, 0, 1, 0],
      [3, 0, 2, 0],
      [4, 1, 3, 0],
      [12, 0, 4, 0],
      [5, 0, 0, 0],
    ];
    parts.forEach(([length, options, mtu], i) => {
      const at = i * 168;
      want.push(...block(B64, at, { type: 6, next: i < 4 ? B + BigInt(at + 168) : 0n }), [at + 152, 4, length], [at + 156, 4, options], [at + 160, 4, mtu]);
    });
    expect(bytesOf({ blocks })).toBe(image(840, want));
  });
});

describe('objects of one layout listing their members in different orders', () => {
  it('each member goes to its own place, whatever the objects before it listed', () => {
    const parts: Record<string, number>[] = [
      { RcvNxt: 31 },
      { RcvNxt: 32, SndUna: 33 },
      { SndUna: 34 },
      { RcvNxt: 35, SndUna: 36 },
      { SndNxt: 37 },
      { SndUna: 38, SndNxt: 39 },
      { SndNxt: 40 },
      { SndUna: 41, SndNxt: 42 },
      { RcvNxt: 1 },
      { SndUna: 2, RcvNxt: 3 },
      { SndUna: 4, RcvNxt: 5 },
      { RcvNxt: 6, SndUna: 7 },
      { SndUna: 8 },
      { RcvNxt: 10, SndNxt: 11, SndUna: 12 },
      { RcvNxt: 13, SndUna: 14 },
      { RcvNxt: 15, SndNxt: 16, SndUna: 17 },
      { RcvNxt: 18, SndNxt: 19 },
      { SndNxt: 20, RcvNxt: 21, SndUna: 22 },
      { SndNxt: 23, RcvNxt: 24, SndUna: 25 },
    ];
    const blocks = parts.map((p) => ({ role: 'placeholder', type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: p } }));
    // Each block 152 + 128 = 280 bytes; RcvNxt @16, SndUna @24, SndNxt @28 of the part.
    const want: W[] = [];
    parts.forEach((p, i) => {
      const at = i * 280;
      want.push(...block(B64, at, { type: 15, next: i < parts.length - 1 ? X64_BASE + BigInt(at + 280) : 0n }), [at + 152, 4, 128]);
      if (p.RcvNxt !== undefined) want.push([at + 168, 4, p.RcvNxt]);
      if (p.SndUna !== undefined) want.push([at + 176, 4, p.SndUna]);
      if (p.SndNxt !== undefined) want.push([at + 180, 4, p.SndNxt]);
    });
    expect(bytesOf({ blocks })).toBe(image(parts.length * 280, want));
  });

  it('one member after another, each member of the layout: the same bytes as the encoder before the fast paths', () => {
    const names = layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X64).fields.filter((f) => !f.fields).map((f) => f.name);
    expect(names.length).toBe(26);
    const blocks = names.flatMap((k) => [{ [k === 'RcvNxt' ? 'SndUna' : 'RcvNxt']: 1 }, { [k]: 2 }, { [k]: 3, SndNxt: 4 }]).map((p) => ({
      role: 'placeholder',
      type: 'TcpOffloadDelegatedState',
      state: { TCP_OFFLOAD_STATE_DELEGATED: p },
    }));
    const bytes = Buffer.from(bytesOf({ blocks }), 'hex');
    // Spot checks: the second block holds State = 2, the last SndNxt = 4 @28 and DWnd = 3 @120.
    expect(bytes.readUInt32LE(280 + 152 + 8)).toBe(2);
    const last = (names.length * 3 - 1) * 280 + 152;
    expect(bytes.readUInt32LE(last + 28)).toBe(4);
    expect(bytes.readUInt32LE(last + 120)).toBe(3);
  });

  it('a state listing every part, one of them undefined', () => {
    const state = { PATH_OFFLOAD_STATE_CONST: undefined, PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 }, PATH_OFFLOAD_STATE_DELEGATED: {} };
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'Ip4OffloadState', state }] })).toBe(image(200, [...block(B64, 0, { type: 8 }), [176, 4, 12], [184, 4, 1500], [188, 4, 8]]));
  });

  it('a state whose parts are all undefined: the state is reserved, nothing is written in it', () => {
    const none = { PATH_OFFLOAD_STATE_CONST: undefined, PATH_OFFLOAD_STATE_CACHED: undefined, PATH_OFFLOAD_STATE_DELEGATED: undefined };
    // The block (a new offload: it has state) @0, its 48 bytes of state, the cell @200.
    expect(bytesOf({ blocks: [{ type: 'Ip4OffloadState', state: none }] })).toBe(image(208, block(B64, 0, { type: 8, ctx: X64_BASE + 200n })));
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: undefined } }] })).toBe(image(168, block(B64, 0, { type: 6 })));
  });

  it('members of a prototype are no members: the general code reads own keys only', () => {
    const b = Object.assign(Object.create({ Status: 'NDIS_STATUS_FAILURE', PortNumber: 9 }) as BlockInput, { role: 'placeholder' });
    expect(bytesOf({ blocks: [b] })).toBe(image(152, block(B64, 0)));
    const status = Object.assign(Object.create({ Status: 'NDIS_STATUS_FAILURE' }) as BlockInput, { role: 'placeholder' });
    expect(bytesOf({ blocks: [status] })).toBe(image(152, block(B64, 0)));
    const cached = Object.assign(Object.create({ PathMtu: 9 }) as Record<string, unknown>, { Header: { Length: 3 } });
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: cached } }] })).toBe(image(168, [...block(B64, 0, { type: 6 }), [152, 4, 3]]));
  });

  it('the general code for a part (a Header without Length): the address pointers recomputed, State by name', () => {
    const state = { PATH_OFFLOAD_STATE_CONST: { Header: { RecognizedOptions: 1 }, SourceAddress: 'junk', DestinationAddress: 'junk', '*SourceAddress': '1.2.3.4' } };
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'Ip4OffloadConstState', state }] })).toBe(
      image(184, [...block(B64, 0, { type: 5 }), [152, 4, 24], [156, 4, 1], [160, 8, X64_BASE + 176n], [168, 8, X64_BASE + 180n], [176, 4, 0x04030201]]),
    );
    const delegated = { TCP_OFFLOAD_STATE_DELEGATED: { Header: { RecognizedOptions: 2 }, State: 'TcpConnectionFinWait2', SndWnd: 0xffffffff, KeepAlive: { ProbeCount: 5 }, Flags: 3 } };
    expect(bytesOf({ blocks: [{ role: 'placeholder', type: 'TcpOffloadDelegatedState', state: delegated }] })).toBe(
      image(280, [...block(B64, 0, { type: 15 }), [152, 4, 128], [156, 4, 2], [160, 4, 6], [164, 2, 3], [188, 4, 0xffffffff], [232, 1, 5]]),
    );
    expect(refused({ blocks: [{ type: 'TcpOffloadDelegatedState', state: { TCP_OFFLOAD_STATE_DELEGATED: { State: null } } }] })).toBe(
      'blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.State | blocks[0].state.TCP_OFFLOAD_STATE_DELEGATED.State: expected an integer, got null',
    );
    expect(refused({ blocks: [{ Status: null }] })).toBe('blocks[0].Status | blocks[0].Status: expected an integer, got null');
  });
});

describe('IPv4 and IPv6 address text', () => {
  const ip4 = (text: string, member = '*SourceAddress'): string => bytesOf({ blocks: [{ type: 'Ip4OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { [member]: text } } }] });
  const sourceBytes = (text: string): string => ip4(text).slice(184 * 2, 188 * 2);

  it('dotted quads, leading zeros of up to three digits, the extremes', () => {
    expect(sourceBytes('1.2.3.4')).toBe('01020304');
    expect(sourceBytes('255.255.255.255')).toBe('ffffffff');
    expect(sourceBytes('0.0.0.0')).toBe('00000000');
    expect(sourceBytes('001.002.003.004')).toBe('01020304');
    expect(sourceBytes('010.0.00.255')).toBe('0a0000ff');
    expect(sourceBytes('192.168.1.20')).toBe('c0a80114');
    expect(ip4('10.9.8.7', '*DestinationAddress').slice(188 * 2, 192 * 2)).toBe('0a090807');
  });

  const bad4 = ['1.2.3', '1.2.3.4.5', '256.0.0.1', '1.2.3.256', '0001.2.3.4', '1.2.3.0001', '1..2.3', '.1.2.3', '1.2.3.', '', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.:', '1.2.3./', '1.2.3.a', '1.2.3.\u0664', '1.2.3.4\n', 'fe80::1'];
  for (const text of bad4) {
    it(`IPv4 refuses ${JSON.stringify(text)}`, () => {
      expect(refused({ blocks: [{ type: 'Ip4OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '1.1.1.1', '*DestinationAddress': text } } }] })).toBe(
        `blocks[0].state.PATH_OFFLOAD_STATE_CONST.*DestinationAddress | blocks[0].state.PATH_OFFLOAD_STATE_CONST.*DestinationAddress: '${text}' is not an IPv4 address`,
      );
    });
  }

  it('IPv6: 16 bytes; dotted IPv4 text alone is no IPv6 address', () => {
    const d = (text: string): unknown => ({ abi: 'x86', blocks: [{ type: 'Ip6OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': text } } }] });
    // x86: block @0, state @76..92, cell @92, addresses @96 and @112.
    expect(bytesOf(d('::ffff:1.2.3.4'))).toBe(
      image(128, [...block(B86, 0, { type: 9, ctx: X86_BASE + 92n }), [76, 4, 16], [84, 4, X86_BASE + 96n], [88, 4, X86_BASE + 112n], [104, 4, 0xffff0000], [108, 4, 0x04030201]]),
    );
    expect(refused(d('1.2.3.4'))).toBe("blocks[0].state.PATH_OFFLOAD_STATE_CONST.*SourceAddress | blocks[0].state.PATH_OFFLOAD_STATE_CONST.*SourceAddress: '1.2.3.4' is not an IPv6 address");
    expect(refused(d('1.2.3'))).toBe("blocks[0].state.PATH_OFFLOAD_STATE_CONST.*SourceAddress | blocks[0].state.PATH_OFFLOAD_STATE_CONST.*SourceAddress: '1.2.3' is not an IPv6 address");
  });
});

describe('block objects', () => {
  const B = X64_BASE;
  it('a block object met twice goes where it was met last', () => {
    const shared: BlockInput = { role: 'placeholder', Status: 5 };
    // Order: shared (0), other (1), shared (2): both places of `shared` are @304; nothing @0.
    const d: EncodeInput = { blocks: [shared, { role: 'placeholder', Status: 6 }, shared] };
    expect(bytesOf(d)).toBe(image(456, [...block(B64, 152, { next: B + 304n, status: 6 }), ...block(B64, 304, { status: 5 })]));
    const enc = encodeTree(d);
    expect(enc.root).toBe(B);
  });

  it('a shared block as a dependent: its parent points where it was met last', () => {
    const shared: BlockInput = { role: 'placeholder', Status: 1 };
    // Order: p (0) -> shared (1); q (2) -> shared (3). shared @456.
    const d = { blocks: [{ role: 'placeholder', dependents: [shared] }, { role: 'placeholder', dependents: [shared] }] };
    expect(bytesOf(d)).toBe(
      image(608, [...block(B64, 0, { next: B + 304n, dep: B + 456n }), ...block(B64, 304, { dep: B + 456n }), ...block(B64, 456, { status: 1 })]),
    );
  });

  it('the first error of a shared block names the place where it was first met', () => {
    const shared: BlockInput = { role: 'owner' as never };
    expect(refused({ blocks: [{}, shared, { dependents: [shared] }] })).toBe("blocks[1].role | blocks[1].role: unknown role 'owner' (expected placeholder, linker, new-offload)");
  });
});

describe('addresses across 2^32 and at the top of the address space', () => {
  it('x64: a carry into the high half', () => {
    const base = 0x1fffffff8n;
    const enc = encodeTree({ base: '0x1fffffff8', blocks: [{ role: 'linker', dependents: [{ role: 'linker', '*MiniportOffloadContext': '0x1' }] }, { role: 'placeholder' }] });
    // linker @0 (cell @152), its dependent @160 (cell @312), placeholder @320.
    expect(hex(enc.bytes)).toBe(
      image(472, [
        ...block(B64, 0, { next: base + 320n, dep: base + 160n, ctx: base + 152n }),
        [152, 8, base],
        ...block(B64, 160, { ctx: base + 312n }),
        [312, 8, 1n],
        ...block(B64, 320),
      ]),
    );
    expect(bytesOf({ base: '0x1fffffff8', blocks: [{ role: 'linker', dependents: [{ role: 'linker', '*MiniportOffloadContext': '0x1' }] }, { role: 'placeholder' }] })).toBe(hex(enc.bytes));
  });

  it('x64 and x86: an image ending exactly at the top, linkers pointing at themselves', () => {
    const top64 = (1n << 64n) - 160n;
    const enc = encodeTree({ blocks: [{ role: 'linker' }] }, { base: top64 });
    expect(hex(enc.bytes)).toBe(image(160, [...block(B64, 0, { ctx: top64 + 152n }), [152, 8, top64]]));
    const top32 = (1n << 32n) - 80n;
    const x86 = encodeTree({ abi: 'x86', blocks: [{ role: 'linker', Status: 'NDIS_STATUS_FAILURE', dependents: [] }] }, { base: top32 });
    expect(hex(x86.bytes)).toBe(image(80, [...block(B86, 0, { ctx: top32 + 76n, status: 0xc0000001 }), [76, 4, top32]]));
  });

  it('x86: pointers are 4 bytes and touch nothing next to them', () => {
    const B = X86_BASE;
    const d: EncodeInput = {
      abi: 'x86',
      blocks: [{ role: 'linker', Status: 'NDIS_STATUS_FAILURE', NdisOffloadHandle: '0xaabbccdd', '*MiniportOffloadContext': '0xffffffff', dependents: [{ role: 'placeholder', Status: -1 }] }],
    };
    expect(bytesOf(d)).toBe(image(156, [...block(B86, 0, { dep: B + 80n, status: 0xc0000001, ctx: B + 76n }), [28, 4, 0xaabbccdd], [76, 4, 0xffffffff], ...block(B86, 80, { status: 0xffffffff })]));
  });
});

describe('more than 1024 blocks', () => {
  it('paths, sibling and dependent pointers past the first 1024 and 2048 blocks', () => {
    const B = X64_BASE;
    const blocks: BlockInput[] = Array.from({ length: 1030 }, () => ({ role: 'placeholder' }));
    blocks[1024] = { role: 'placeholder', dependents: [{ role: 'placeholder', Status: 7 }] };
    const enc = encodeTree({ blocks });
    const dv = new DataView(enc.bytes.buffer);
    const ptr = (at: number): bigint => dv.getBigUint64(at, true);
    expect(enc.bytes.length).toBe(1031 * 152);
    // Block 1024 @1024*152, its dependent right after, top-level block 1025 after that.
    expect(ptr(1023 * 152 + 8)).toBe(B + 1024n * 152n);
    expect(ptr(1024 * 152 + 8)).toBe(B + 1026n * 152n);
    expect(ptr(1024 * 152 + 16)).toBe(B + 1025n * 152n);
    expect(ptr(1025 * 152 + 8)).toBe(0n);
    expect(dv.getInt32(1025 * 152 + 24, true)).toBe(7);
    expect(ptr(1030 * 152 + 8)).toBe(0n);
    expect(ptr(1029 * 152 + 8)).toBe(B + 1030n * 152n);

    const bad = blocks.slice();
    bad[1024] = { role: 'owner' as never };
    expect(refusal(() => encodeTree({ blocks: bad }))).toBe("blocks[1024].role | blocks[1024].role: unknown role 'owner' (expected placeholder, linker, new-offload)");
    const deep: BlockInput[] = Array.from({ length: 2100 }, () => ({}));
    deep[2099] = { type: 'Nope' };
    expect(refusal(() => encodeTree({ blocks: [{}, { dependents: deep }] }))).toBe("blocks[1].dependents[2099].type | blocks[1].dependents[2099].type: unknown OFFLOAD_STATE_TYPE 'Nope'");
    const late: BlockInput[] = Array.from({ length: 2100 }, () => ({}));
    late[2050] = null as never;
    expect(refusal(() => encodeTree({ blocks: late }))).toBe('blocks[2050] | blocks[2050]: expected a block object');
  });
});

describe('encodeOnto', () => {
  const BASE = 0x10000n;
  /** A capture of junk: every byte its offset's low byte, so that any write shows. */
  const junk = (n = 1024): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
  const changed = (a: Uint8Array, b: Uint8Array): number[] => [...a.keys()].filter((i) => a[i] !== b[i]);

  it('refuses a read-only image before anything else', () => {
    const img = SegmentImage.region(junk(), BASE);
    Object.defineProperty(img, 'writable', { value: false });
    expect(refusal(() => encodeOnto({ blocks: [{ address: '0x10000', Status: 0 }] }, img))).toBe(
      '$ | $: this image is read-only (a crash dump or physical image): encode onto a region instead',
    );
    expect(refusal(() => encodeOnto(null as never, img))).toBe('$ | $: this image is read-only (a crash dump or physical image): encode onto a region instead');
  });

  it('writes only what the document gives: no Header, type or pointers unless given', () => {
    const capture = junk();
    expect(hex(encodeOntoCopy({ blocks: [{ address: '0x10000' }] }, capture, BASE))).toBe(hex(capture));
    // The type name is a form of Header.Type: given, it is written (issue 22).
    const typed = encodeOntoCopy({ blocks: [{ address: '0x10000', type: 'Ip4OffloadState' }] }, capture, BASE);
    expect(changed(typed, capture)).toEqual([0]);
    expect(typed[0]).toBe(8);
    const status = encodeOntoCopy({ blocks: [{ address: '0x10008', Status: 'NDIS_STATUS_FAILURE' }] }, capture, BASE);
    expect(changed(status, capture)).toEqual([32, 33, 34, 35].filter((i) => capture[i] !== status[i]));
    expect(new DataView(status.buffer).getUint32(32, true)).toBe(0xc0000001);
    // A Header given is written as given: Revision alone changes only byte 1.
    const rev = encodeOntoCopy({ blocks: [{ address: '0x10000', Header: { Revision: 0xee } }] }, capture, BASE);
    expect(changed(rev, capture)).toEqual([1]);
    expect(rev[1]).toBe(0xee);
    // The pointers are written when given.
    const ptrs = encodeOntoCopy({ blocks: [{ address: '0x10000', NextBlock: '0x1122334455667788', DependentBlockList: 0, MiniportOffloadContext: '0x10' }] }, capture, BASE);
    const dv = new DataView(ptrs.buffer);
    expect(dv.getBigUint64(8, true)).toBe(0x1122334455667788n);
    expect(dv.getBigUint64(16, true)).toBe(0n);
    expect(dv.getBigUint64(48, true)).toBe(0x10n);
    expect(changed(ptrs, capture).every((i) => (i >= 8 && i < 24) || (i >= 48 && i < 56))).toBe(true);
    // x86 by the option.
    const x86 = encodeOntoCopy({ abi: 'x64', blocks: [{ address: '0x10004', NextBlock: '0xaabbccdd' }] }, capture, BASE, { abi: X86 });
    expect(changed(x86, capture).every((i) => i >= 8 && i < 12)).toBe(true);
    expect(new DataView(x86.buffer).getUint32(8, true)).toBe(0xaabbccdd);
  });

  it('the context cell: written where MiniportOffloadContext points when both are given, NULL allowed', () => {
    const capture = junk();
    const both = encodeOntoCopy({ blocks: [{ address: '0x10000', MiniportOffloadContext: '0x10200', '*MiniportOffloadContext': '0x0' }] }, capture, BASE);
    expect(new DataView(both.buffer).getBigUint64(0x200, true)).toBe(0n);
    expect(new DataView(both.buffer).getBigUint64(48, true)).toBe(0x10200n);
    expect(changed(both, capture).every((i) => (i >= 48 && i < 56) || (i >= 0x200 && i < 0x208))).toBe(true);
    const x86 = encodeOntoCopy({ abi: 'x86', blocks: [{ address: '0x10000', MiniportOffloadContext: '0x10200', '*MiniportOffloadContext': '0xfffffffe' }] }, capture, BASE);
    expect(new DataView(x86.buffer).getUint32(0x200, true)).toBe(0xfffffffe);
    expect(changed(x86, capture).every((i) => (i >= 24 && i < 28) || (i >= 0x200 && i < 0x204))).toBe(true);
    // The cell value alone: written where the capture's MiniportOffloadContext points (issue 22: never ignored).
    const pointing = encodeOntoCopy({ blocks: [{ address: '0x10000', MiniportOffloadContext: '0x10200' }] }, capture, BASE);
    const alone = encodeOntoCopy({ blocks: [{ address: '0x10000', '*MiniportOffloadContext': '0x5' }] }, pointing, BASE);
    expect(changed(alone, pointing)).toEqual([0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207].filter((i) => alone[i] !== pointing[i]));
    expect(new DataView(alone.buffer).getBigUint64(0x200, true)).toBe(5n);
  });

  it('state parts at the block\'s address plus the block size and the part offset; Length only when given; IP bytes where the pointers say', () => {
    const capture = junk();
    const doc = {
      blocks: [
        {
          address: '0x10000',
          type: 'Ip4OffloadState',
          state: {
            PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 },
            PATH_OFFLOAD_STATE_CONST: { SourceAddress: '0x10300', DestinationAddress: '0x10304', '*SourceAddress': '1.2.3.4', '*DestinationAddress': '5.6.7.8' },
          },
        },
      ],
    };
    const out = encodeOntoCopy(doc, capture, BASE);
    const dv = new DataView(out.buffer);
    expect(dv.getUint32(176 + 8, true)).toBe(1500);
    expect(dv.getBigUint64(152 + 8, true)).toBe(0x10300n);
    expect(dv.getBigUint64(152 + 16, true)).toBe(0x10304n);
    expect(hex(out.subarray(0x300, 0x308))).toBe('0102030405060708');
    // (byte 0: Header.Type, from the type name given)
    const allowed = (i: number): boolean => i === 0 || (i >= 184 && i < 188) || (i >= 160 && i < 176) || (i >= 0x300 && i < 0x308);
    expect(changed(out, capture).every(allowed)).toBe(true);
    // Text without its pointer is written where the capture's pointer points (issue 22: never ignored);
    // a pointer without text writes only the pointer.
    const pointed = encodeOntoCopy({ blocks: [{ address: '0x10000', type: 'Ip4OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { SourceAddress: '0x10300' } } }] }, capture, BASE);
    expect(changed(pointed, capture).every((i) => i === 0 || (i >= 160 && i < 168))).toBe(true);
    const textOnly = encodeOntoCopy({ blocks: [{ address: '0x10000', state: { PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '1.2.3.4' } } }] }, pointed, BASE);
    expect(changed(textOnly, pointed)).toEqual([0x300, 0x301, 0x302, 0x303].filter((i) => pointed[i] !== [1, 2, 3, 4][i - 0x300]));
    expect(hex(textOnly.subarray(0x300, 0x304))).toBe('01020304');
    // A part's Header given: its members written (what happens to a Length not given: see the report).
    const header = encodeOntoCopy({ blocks: [{ address: '0x10000', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { Header: { RecognizedOptions: 0x01020304 } } } }] }, capture, BASE);
    expect(new DataView(header.buffer).getUint32(156, true)).toBe(0x01020304);
    expect(changed(header, capture).every((i) => i === 0 || (i >= 152 && i < 160))).toBe(true);
    const length = encodeOntoCopy({ blocks: [{ address: '0x10000', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { Header: { Length: 12 } } } }] }, capture, BASE);
    expect(new DataView(length.buffer).getUint32(152, true)).toBe(12);
    expect(changed(length, capture).every((i) => i === 0 || (i >= 152 && i < 156))).toBe(true);
    // IPv6 text at its pointer, 16 bytes.
    const v6 = encodeOntoCopy({ blocks: [{ address: '0x10000', type: 'Ip6OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { DestinationAddress: '0x10310', '*DestinationAddress': 'fe80::1' } } }] }, capture, BASE);
    expect(hex(v6.subarray(0x310, 0x320))).toBe(`fe80${'00'.repeat(13)}01`);
  });

  const refusals: [string, EncodeInput, string][] = [
    ['a block without an address', { blocks: [{ address: '0x10000' }, { dependents: [{ Status: 0 }] }] }, "blocks[1].address | blocks[1].address: encoding onto a capture needs every block's address"],
    ['a dependent without an address', { blocks: [{ address: '0x10000', Status: 1, dependents: [{ address: '0x10000' }, { Status: 0 }] }] }, "blocks[0].dependents[1].address | blocks[0].dependents[1].address: encoding onto a capture needs every block's address"],
    ['an address that is no pointer', { blocks: [{ address: 'here' }] }, 'blocks[0].address | blocks[0].address: expected an integer, got "here"'],
    ['a block outside the capture', { blocks: [{ address: '0x10000', Status: 1 }, { address: '0x20000', Status: 1 }] }, 'blocks[1] | blocks[1]: 0x20000 (+152 bytes) is outside the captured memory'],
    [
      'a block running past the end',
      { blocks: [{ address: '0x10000', Status: 1 }, { address: '0x10390', Status: 1 }] },
      'blocks[1] | blocks[1]: 0x10390 (+152 bytes) runs past the end of the captured memory at 0x10400 (112 of 152 bytes captured)',
    ],
    ['an unknown role', { blocks: [{ address: '0x10000', Status: 1 }, { address: '0x10000', role: 'owner' as never }] }, "blocks[1].role | blocks[1].role: unknown role 'owner' (expected placeholder, linker, new-offload)"],
    ['an unknown type', { blocks: [{ address: '0x10000', Status: 1 }, { address: '0x10000', type: 'Nope' }] }, "blocks[1].type | blocks[1].type: unknown OFFLOAD_STATE_TYPE 'Nope'"],
    ['a bad NextBlock', { blocks: [{ address: '0x10000', Status: 1, NextBlock: 'junk' }] }, 'blocks[0].NextBlock | blocks[0].NextBlock: expected an integer, got "junk"'],
    [
      'a context cell outside the capture',
      { blocks: [{ address: '0x10000', Status: 1, MiniportOffloadContext: '0x10400', '*MiniportOffloadContext': '0x1' }] },
      'blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: 0x10400 (+8 bytes) is outside the captured memory',
    ],
    [
      'a context pointer that is no pointer',
      { blocks: [{ address: '0x10000', Status: 1, MiniportOffloadContext: 'x', '*MiniportOffloadContext': '0x1' }] },
      'blocks[0].MiniportOffloadContext | blocks[0].MiniportOffloadContext: expected an integer, got "x"',
    ],
    [
      'a context value that is no pointer',
      { blocks: [{ address: '0x10000', Status: 1, MiniportOffloadContext: '0x10200', '*MiniportOffloadContext': 'x' }] },
      'blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: expected an integer, got "x"',
    ],
    [
      'a part running past the end',
      { blocks: [{ address: '0x10000', Status: 1 }, { address: '0x10360', type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1 } } }] },
      'blocks[1].state.PATH_OFFLOAD_STATE_CACHED | blocks[1].state.PATH_OFFLOAD_STATE_CACHED: 0x103f8 (+12 bytes) runs past the end of the captured memory at 0x10400 (8 of 12 bytes captured)',
    ],
    [
      'a part member out of range',
      { blocks: [{ address: '0x10000', Status: 1, type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: -1 } } }] },
      'blocks[0].state.PATH_OFFLOAD_STATE_CACHED.PathMtu | blocks[0].state.PATH_OFFLOAD_STATE_CACHED.PathMtu: -1 does not fit the member (0..4294967295)',
    ],
    [
      'a part that is not one of the type',
      { blocks: [{ address: '0x10000', Status: 1, type: 'Ip4OffloadCachedState', state: { PATH_OFFLOAD_STATE_CONST: {} } }] },
      'blocks[0].state.PATH_OFFLOAD_STATE_CONST | blocks[0].state.PATH_OFFLOAD_STATE_CONST: not a part of Ip4OffloadCachedState (parts: PATH_OFFLOAD_STATE_CACHED)',
    ],
    [
      'bad IP text',
      {
        blocks: [
          { address: '0x10000', Status: 1, type: 'Ip4OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { SourceAddress: '0x10300', '*SourceAddress': '1.2.3.4', DestinationAddress: '0x10304', '*DestinationAddress': '1.2.3.256' } } },
        ],
      },
      "blocks[0].state.PATH_OFFLOAD_STATE_CONST.*DestinationAddress | blocks[0].state.PATH_OFFLOAD_STATE_CONST.*DestinationAddress: '1.2.3.256' is not an IPv4 address",
    ],
    [
      'IP bytes outside the capture',
      { blocks: [{ address: '0x10000', Status: 1, type: 'Ip6OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { SourceAddress: '0x103f8', '*SourceAddress': '::1' } } }] },
      'blocks[0].state.PATH_OFFLOAD_STATE_CONST.*SourceAddress | blocks[0].state.PATH_OFFLOAD_STATE_CONST.*SourceAddress: 0x103f8 (+16 bytes) runs past the end of the captured memory at 0x10400 (8 of 16 bytes captured)',
    ],
    [
      'an IP pointer that is no pointer',
      { blocks: [{ address: '0x10000', Status: 1, type: 'Ip4OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { SourceAddress: -1, '*SourceAddress': '1.2.3.4' } } }] },
      'blocks[0].state.PATH_OFFLOAD_STATE_CONST.SourceAddress | blocks[0].state.PATH_OFFLOAD_STATE_CONST.SourceAddress: -1 does not fit the member (0..18446744073709551615)',
    ],
    [
      'a later block writing over an earlier one, then failing',
      { blocks: [{ address: '0x10000', Status: 'NDIS_STATUS_FAILURE', PortNumber: 5 }, { address: '0x10000', Status: 3, PortNumber: 2 ** 40 }] },
      'blocks[1].PortNumber | blocks[1].PortNumber: 1099511627776 does not fit the member (0..4294967295)',
    ],
    ['dependents of a TCP block', { blocks: [{ address: '0x10000', Status: 1, dependents: [{ address: '0x10000', dependents: [{ address: '0x10000', dependents: [{}] }] }] }] }, 'blocks[0].dependents[0].dependents[0].dependents | blocks[0].dependents[0].dependents[0].dependents: a TCP block cannot have dependents'],
    ['a block that is no object', { blocks: [{ address: '0x10000', Status: 1 }, 'x' as never] }, 'blocks[1] | blocks[1]: expected a block object'],
    ['dependents that are no list', { blocks: [{ address: '0x10000', Status: 1, dependents: 'x' as never }] }, 'blocks[0].dependents | blocks[0].dependents: expected an array'],
  ];
  for (const [name, doc, want] of refusals) {
    it(`${name}: refused, the image untouched`, () => {
      const capture = junk();
      const before = capture.slice();
      expect(refusal(() => encodeOnto(doc, SegmentImage.region(capture, BASE)))).toBe(want);
      expect(hex(capture)).toBe(hex(before));
      expect(refusal(() => encodeOntoCopy(doc, capture, BASE))).toBe(want);
      expect(hex(capture)).toBe(hex(before));
    });
  }

  it('a range the image can only gather from several places is refused, and nothing is written', () => {
    const capture = junk();
    const region = SegmentImage.region(capture, BASE);
    const gathering: MemoryImage = {
      kind: 'paged',
      writable: true,
      locate: (address, size, out) => {
        const ok = region.locate(address, size, out);
        if (address >= 0x10100n) out.gathered = true;
        return ok;
      },
      locateHalves: (lo, hi, size, out) => region.locateHalves(lo, hi, size, out),
      explain: () => 'straddles two pages',
      ranges: () => region.ranges(),
    };
    const doc = { blocks: [{ address: '0x10000', Status: 1 }, { address: '0x10100', Status: 2 }] };
    expect(refusal(() => encodeOnto(doc, gathering))).toBe('blocks[1] | blocks[1]: 0x10100 (+152 bytes) straddles two pages: it is read across them, but written in place only where it lies whole in one');
    expect(hex(capture)).toBe(hex(junk()));
  });

  it('a capture that is part of a larger buffer: the right bytes written, and all put back on an error', () => {
    const buffer = junk(2048);
    const capture = buffer.subarray(256, 256 + 1024);
    const doc = (dest: string): EncodeInput => ({
      blocks: [
        {
          address: '0x10010',
          Status: -1,
          type: 'Ip4OffloadConstState',
          state: { PATH_OFFLOAD_STATE_CONST: { SourceAddress: '0x10300', '*SourceAddress': '9.8.7.6', DestinationAddress: '0x10304', '*DestinationAddress': dest } },
        },
      ],
    });
    expect(refusal(() => encodeOnto(doc('1.2.3'), SegmentImage.region(capture, BASE)))).toBe(
      "blocks[0].state.PATH_OFFLOAD_STATE_CONST.*DestinationAddress | blocks[0].state.PATH_OFFLOAD_STATE_CONST.*DestinationAddress: '1.2.3' is not an IPv4 address",
    );
    expect(hex(buffer)).toBe(hex(junk(2048)));
    encodeOnto(doc('5.6.7.8'), SegmentImage.region(capture, BASE));
    const at = (i: number): number => 256 + i;
    expect(hex(buffer.subarray(at(0x10 + 24), at(0x10 + 28)))).toBe('ffffffff');
    expect(hex(buffer.subarray(at(0x300), at(0x308)))).toBe('0908070605060708');
    const moved = changed(buffer, junk(2048));
    expect(moved.every((i) => i === at(0x10) || (i >= at(0x28) && i < at(0x2c)) || (i >= at(0xb0) && i < at(0xc0)) || (i >= at(0x300) && i < at(0x308)))).toBe(true);
  });

  it('a block without a type name: Header.Type says which state follows', () => {
    const capture = junk();
    const doc = { blocks: [{ address: '0x10000', Header: { Type: 6 }, state: { PATH_OFFLOAD_STATE_CACHED: { PathMtu: 0x01020304 } } }] };
    const out = encodeOntoCopy(doc, capture, BASE);
    expect(out[0]).toBe(6);
    expect(new DataView(out.buffer).getUint32(160, true)).toBe(0x01020304);
    expect(changed(out, capture).every((i) => i === 0 || (i >= 160 && i < 164))).toBe(true);
    // The type name still the capture's (3), Header.Type edited: the edit wins; both edited differently: refused.
    expect(hex(encodeOntoCopy({ ...doc, blocks: [{ ...doc.blocks[0]!, type: 'NeighborOffloadDelegatedState' }] }, capture, BASE))).toBe(hex(out));
    expect(refusal(() => encodeOntoCopy({ blocks: [{ address: '0x10000', type: 'unknown (99)', Header: { Type: 6 } }] }, capture, BASE))).toBe(
      'blocks[0] | blocks[0]: its forms disagree: type "unknown (99)" (unknown (99)), Header.Type 6 (Ip4OffloadCachedState); the capture holds NeighborOffloadDelegatedState, and more than one new value is given: edit one form, or make them agree',
    );
  });

  it('encodeOntoCopy returns a new array and leaves its input alone', () => {
    const capture = junk();
    const out = encodeOntoCopy({ blocks: [{ address: '0x10000', Status: -1 }] }, capture, BASE);
    expect(out).not.toBe(capture);
    expect(hex(capture)).toBe(hex(junk()));
    expect(hex(out.subarray(24, 28))).toBe('ffffffff');
    expect(changed(out, capture).every((i) => i >= 24 && i < 28)).toBe(true);
  });
});

describe('properties: the value given is the value stored', () => {
  const le = (v: bigint, n: number): string => image(n, [[0, n as 4 | 8, v]]);

  it('a linker\'s context value in hex of any width and case, padded with zeros or not', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), fc.nat(16), fc.boolean(), fc.boolean(), (v, pad, upper, x86) => {
        const value = x86 ? v & 0xffffffffn || 1n : v;
        const digits = value.toString(16);
        const text = `0x${(upper ? digits.toUpperCase() : digits).padStart(Math.min(16, Math.max(digits.length, pad)), '0')}`;
        const bytes = bytesOf({ abi: x86 ? 'x86' : 'x64', blocks: [{ role: 'linker', '*MiniportOffloadContext': text }] });
        expect(x86 ? bytes.slice(152, 160) : bytes.slice(304, 320)).toBe(le(value, x86 ? 4 : 8));
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it('a Status word as a signed number, an unsigned number or hex', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.constantFrom('signed', 'unsigned', 'hex'), (word, spelling) => {
        const status = spelling === 'signed' ? word : spelling === 'unsigned' ? word >>> 0 : `0x${(word >>> 0).toString(16)}`;
        expect(bytesOf({ blocks: [{ role: 'placeholder', Status: status }] }).slice(48, 56)).toBe(le(BigInt(word), 4));
      }),
      fcParams({ numRuns: 200 }),
    );
  });

  it('a dotted IPv4 address with up to three digits a part', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }), fc.array(fc.nat(2), { minLength: 4, maxLength: 4 }), (quad, zeros) => {
        const text = quad.map((q, i) => String(q).padStart(Math.min(3, String(q).length + zeros[i]!), '0')).join('.');
        const bytes = bytesOf({ abi: 'x86', blocks: [{ type: 'Ip4OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { '*DestinationAddress': text } } }] });
        // x86: block @0, state @76..92, cell @92, source @96, destination @100.
        expect(bytes.slice(200, 208)).toBe(Buffer.from(quad).toString('hex'));
      }),
      fcParams({ numRuns: 200 }),
    );
  });
});

describe('a fresh copy of the module: its caches of layouts, types and writers built here', () => {
  /** A distinct in-range value for every member (the first alternative of a union only). */
  function fill(fields: readonly PlacedField[], ptr: number, seed: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    const unions = new Set<number>();
    fields.forEach((f, i) => {
      if (f.union) {
        if (unions.has(f.union.id) && f.union.alternative !== 0) return;
        unions.add(f.union.id);
        if (f.union.alternative !== 0) return;
      }
      const n = seed + i;
      if (f.name === 'Header') o.Header = { Length: 200 + n, RecognizedOptions: n };
      else if (f.fields) o[f.name] = fill(f.fields, ptr, n * 3);
      else if (f.bitWidth !== undefined) o[f.name] = f.bitWidth > 3 ? 2 ** f.bitWidth - 1 - (n % 3) : n % 2 ** f.bitWidth;
      else if (f.type.kind === 'pointer') o[f.name] = ptr === 8 ? `0x${(0x1234567n + BigInt(n) * 0x100000001n).toString(16)}` : 0x10000 + n;
      else if (f.type.kind === 'array') o[f.name] = `${(n % 256).toString(16).padStart(2, '0')}ff00aa`;
      else o[f.name] = f.size === 1 ? 200 + (n % 50) : f.size === 2 ? 60000 + n : 4000000000 + n;
    });
    return o;
  }

  const everyType = (abi: typeof X64, ndis: '6.0' | '6.1'): EncodeInput => {
    const blocks: BlockInput[] = OFFLOAD_STATE_TYPE.filter((t) => t.parts.length).map((t, k) => {
      const state: Record<string, Record<string, unknown>> = {};
      for (const part of t.parts) {
        state[part] = fill(layoutOf(part, abi, ndis).fields, abi.pointerSize, k * 7);
        if (part === 'PATH_OFFLOAD_STATE_CONST') {
          state[part]!['*SourceAddress'] = t.addressBytes === 4 ? `10.0.${k}.1` : `fe80::${k}`;
          state[part]!['*DestinationAddress'] = t.addressBytes === 4 ? `192.168.${k}.254` : `2001:db8::${k}`;
        }
      }
      const cell = abi === X64 ? `0xffffc70a0f6e2a${(k + 16).toString(16)}` : 0x8f6e2a40 + k;
      return { role: k % 2 ? 'linker' : 'new-offload', type: t.name, Status: k * 1000 - 5, ...(k % 2 ? { '*MiniportOffloadContext': cell } : {}), state };
    });
    return { abi: abi.name, ndis, blocks: [{ role: 'placeholder', dependents: blocks }, ...blocks.map((b) => ({ ...b, Header: { Revision: 3 } }))] };
  };

  it('encodes every state type, both ABIs and revisions, as the encoder before the fast paths did', async () => {
    vi.resetModules();
    const fresh = await import('../../src/tree/encode.js');
    for (const abi of [X64, X86]) {
      for (const ndis of ['6.1', '6.0'] as const) {
        const doc = everyType(abi, ndis);
        expect(hex(fresh.encodeTree(doc).bytes), `${abi.name} ${ndis}`).toBe(hex(referenceEncodeTree(doc as never).bytes));
      }
    }
    // And the hand-computed x86 tree of the first test, through the fresh module.
    const B = X86_BASE;
    const d: EncodeInput = {
      abi: 'x86',
      blocks: [
        {
          role: 'linker',
          type: 'NeighborOffloadConstState',
          '*MiniportOffloadContext': '0x8f6e2a40',
          dependents: [{ type: 'Ip4OffloadConstState', state: { PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '10.0.0.1', '*DestinationAddress': '192.168.1.254' } } }],
        },
      ],
    };
    expect(hex(fresh.encodeTree(d).bytes)).toBe(
      image(184, [
        ...block(B86, 0, { type: 1, dep: B + 80n, ctx: B + 76n }),
        [76, 4, 0x8f6e2a40],
        ...block(B86, 80, { type: 5, ctx: B + 172n }),
        [156, 4, 16],
        [164, 4, B + 176n],
        [168, 4, B + 180n],
        [176, 4, 0x0100000a],
        [180, 4, 0xfe01a8c0],
      ]),
    );
  });

  it('encodes onto a capture: every part at its offset, through a fresh module', async () => {
    vi.resetModules();
    const fresh = await import('../../src/tree/encode.js');
    for (const abi of [X64, X86]) {
      const doc = everyType(abi, '6.1');
      const enc = referenceEncodeTree(doc as never);
      const dv = new DataView(enc.bytes.buffer);
      const L = abi === X64 ? B64 : B86;
      const read = (at: bigint, member: number): bigint => {
        const i = Number(at - enc.base) + member;
        return abi === X64 ? dv.getBigUint64(i, true) : BigInt(dv.getUint32(i, true));
      };
      // The compact encoder's addresses, given to encodeOnto: onto zeros, each part's bytes come
      // out as the compact encoder wrote them (but for the PATH const part's two pointers).
      const addressed = JSON.parse(JSON.stringify(doc)) as EncodeInput;
      const top: bigint[] = [];
      for (let at = enc.root; at !== 0n; at = read(at, L.next)) top.push(at);
      const deps: bigint[] = [];
      for (let at = read(top[0]!, L.dep); at !== 0n; at = read(at, L.next)) deps.push(at);
      addressed.blocks.forEach((b, i) => (b.address = `0x${top[i]!.toString(16)}`));
      addressed.blocks[0]!.dependents!.forEach((b, i) => (b.address = `0x${deps[i]!.toString(16)}`));
      for (const b of [...addressed.blocks, ...addressed.blocks[0]!.dependents!]) {
        const c = b.state?.PATH_OFFLOAD_STATE_CONST;
        // (Onto zeros the pointers are NULL: the address text has nowhere to go, and would be refused.)
        if (c) for (const k of ['SourceAddress', 'DestinationAddress', '*SourceAddress', '*DestinationAddress']) delete c[k];
        // Onto zeros every MiniportOffloadContext is NULL: no cell to write, and the bytes make every block a placeholder.
        delete b.role;
        delete b['*MiniportOffloadContext'];
      }
      const out = fresh.encodeOntoCopy(addressed, new Uint8Array(enc.bytes.length), enc.base);
      let parts = 0;
      for (const b of [...addressed.blocks.slice(1), ...addressed.blocks[0]!.dependents!]) {
        const at = Number(BigInt(b.address!) - enc.base);
        expect(new DataView(out.buffer).getInt32(at + L.status, true)).toBe(b.Status);
        const type = OFFLOAD_STATE_TYPE.find((t) => t.name === b.type)!;
        for (const part of stateParts(type, abi, '6.1')) {
          const from = at + L.size + part.offset;
          const to = from + (part.name === 'PATH_OFFLOAD_STATE_CONST' ? 8 : part.layout.size);
          expect(hex(out.subarray(from, to)), `${b.type} ${part.name}`).toBe(hex(enc.bytes.subarray(from, to)));
          parts++;
        }
      }
      expect(parts).toBe(2 * 24);
    }
  });
});

describe('generalWrites at the edges of each fast path: values at the ends of its range are taken, the next ones are not', () => {
  /** The general writes of a document, whose bytes are checked against the reference encoder first. */
  const general = (doc: EncodeInput): number => {
    bytesOf(doc);
    return encodeTree(doc).generalWrites;
  };
  const blockWith = (b: BlockInput, abi = 'x64'): EncodeInput => ({ abi, blocks: [b] });
  const partWith = (type: string, name: string, json: unknown, abi = 'x64'): EncodeInput => ({ abi, blocks: [{ role: 'placeholder', type, state: { [name]: json as Record<string, unknown> } }] });

  it('Status: names and numbers from -2^31 to 2^32 - 1 are fast; hex text, objects and bigints are not', () => {
    for (const status of [-2147483648, -1, 0, 0x7fffffff, 0x80000000, 0xffffffff, 'NDIS_STATUS_FAILURE', 'NDIS_STATUS_SUCCESS']) {
      expect(general(blockWith({ role: 'placeholder', Status: status })), String(status)).toBe(0);
    }
    for (const status of ['0xc0000001', '-5', { name: 'NDIS_STATUS_FAILURE' }, { value: 7 }, 5n]) {
      expect(general(blockWith({ role: 'placeholder', Status: status })), String(status)).toBe(1);
    }
  });

  it('the keys about a block are no members: a block with all of them and a Status is still fast', () => {
    const b = { role: 'linker', type: 'Ip4OffloadCachedState', address: 'x', offset: 5, layer: 'neighbor', '*MiniportOffloadContext': '0x1', dependents: [], Status: 5 } as BlockInput;
    expect(general(blockWith(b))).toBe(0);
    expect(general(blockWith({ role: 'placeholder', Header: { Size: 152 } }))).toBe(1);
    expect(general(blockWith({ role: 'placeholder', PortNumber: 0 }))).toBe(1);
    expect(general(blockWith(Object.assign(Object.create(null) as BlockInput, { role: 'placeholder', Status: 1 })))).toBe(0);
    class Block {
      role = 'placeholder';
    }
    expect(general(blockWith(new Block() as BlockInput))).toBe(1);
  });

  it('context cells: "0x" and 1 to 16 digits are fast on x64, up to 0xffffffff (leading zeros allowed) on x86', () => {
    const cell = (v: unknown, abi = 'x64'): number => general(blockWith({ role: 'linker', '*MiniportOffloadContext': v }, abi));
    for (const v of ['0x1', '0xf', '0xffffffff', '0x100000000', '0x123456789', '0xffffffffffffffff', '0x0000000000000001', '0xABCDEF']) expect(cell(v), v).toBe(0);
    for (const v of ['0x00000000000000001', '0X1F', ' 0x10', '4660', 12345, 0x1n]) expect(cell(v), String(v)).toBe(1);
    for (const v of ['0xffffffff', '0x1', '0x000000001', '0x0000000012345678']) expect(cell(v, 'x86'), v).toBe(0);
    expect(cell(1, 'x86')).toBe(1);
    // A new offload's cell holds NULL: a cell given beside it is checked (issue 22), by the general code.
    expect(refused(blockWith({ role: 'new-offload', '*MiniportOffloadContext': 'anything' }))).toBe(
      'blocks[0].*MiniportOffloadContext | blocks[0].*MiniportOffloadContext: expected an integer, got "anything"',
    );
    expect(general(blockWith({ role: 'new-offload', '*MiniportOffloadContext': '0x0' }))).toBe(0);
  });

  it('state members at their maxima and zero are fast; text, bigints and a Header without Length are not', () => {
    const cached = (json: unknown): number => general(partWith('Ip4OffloadCachedState', 'PATH_OFFLOAD_STATE_CACHED', json));
    for (const json of [{ PathMtu: 0xffffffff }, { PathMtu: 0 }, { Header: { Length: 0 } }, { Header: { Length: 12, RecognizedOptions: 0xffffffff } }, {}]) {
      expect(cached(json), JSON.stringify(json)).toBe(0);
    }
    for (const json of [{ PathMtu: '5' }, { PathMtu: 1n }, { Header: { RecognizedOptions: 1 } }, { Header: null }, { Header: [] }]) expect(cached(json)).toBe(1);
    expect(cached(Object.assign(Object.create(null), { PathMtu: 1 }))).toBe(0);
    const tcpConst = { Flags: 0xffff, RemotePort: 0, LocalPort: 65535, SndWindScale: 15, RcvWindScale: 0, RemoteMss: 1, HashValue: 0xffffffff };
    expect(general(partWith('TcpOffloadConstState', 'TCP_OFFLOAD_STATE_CONST', tcpConst))).toBe(0);
    const tcpCached = { KaProbeCount: 255, TtlOrHopLimit: 0, FlowLabel: 0xfffff, UserPriority: 7, InitialRcvWnd: 0xffffffff };
    expect(general(partWith('TcpOffloadCachedState', 'TCP_OFFLOAD_STATE_CACHED', tcpCached))).toBe(0);
    expect(general(partWith('NeighborOffloadConstState', 'NEIGHBOR_OFFLOAD_STATE_CONST', { VlanId: 4095 }))).toBe(0);
    expect(general(partWith('NeighborOffloadConstState', 'NEIGHBOR_OFFLOAD_STATE_CONST', { VlanId: 0 }))).toBe(0);
    expect(general(partWith('NeighborOffloadConstState', 'NEIGHBOR_OFFLOAD_STATE_CONST', { DlSourceAddress: '00155d4a1b2c' }))).toBe(1);
  });

  it('pointers, unions, nested structures and the connection state in state', () => {
    const delegated = (json: unknown, abi = 'x64'): number => general(partWith('TcpOffloadDelegatedState', 'TCP_OFFLOAD_STATE_DELEGATED', json, abi));
    for (const v of [0, 2 ** 32, 2 ** 53 - 1, '0x0000000000000000', '0xffffffffffffffff', '0x1', '0x123456789abcdef0']) expect(delegated({ BufferedData: v }), String(v)).toBe(0);
    for (const v of ['0x00000000000000001', '0X1', ' 0x1', '16', 1n]) expect(delegated({ BufferedData: v }), String(v)).toBe(1);
    for (const v of [0, 4294967295, '0xffffffff', '0x000000000000abcd']) expect(delegated({ BufferedData: v }, 'x86'), String(v)).toBe(0);
    expect(delegated({ SendDataHead: '0x1', SendDataTail: 2, ReceiveBacklogSize: 0xffffffff, DWnd: 0 })).toBe(0);
    expect(delegated({ SendBacklogSize: 0 })).toBe(0);
    expect(delegated({ SendDataHead: '0x1', SendBacklogSize: 1 })).toBe(1);
    expect(delegated({ BufferedData: 1, ReceiveBacklogSize: 1 })).toBe(1);
    for (const state of ['TcpConnectionClosed', 'TcpConnectionMaxState', 0, 0xffffffff]) expect(delegated({ State: state }), JSON.stringify(state)).toBe(0);
    // The decoder's { value, name }: its forms are agreed by the general code (issue 22).
    for (const state of ['4', { name: 'TcpConnectionEstablished', value: 4 }, { value: 3 }]) expect(delegated({ State: state }), JSON.stringify(state)).toBe(1);
    expect(delegated({ KeepAlive: { ProbeCount: 255, TimeoutDelta: 0xffffffff }, Retransmit: {} })).toBe(0);
    expect(delegated({ KeepAlive: Object.assign(Object.create(null), { ProbeCount: 1 }) })).toBe(0);
    class Retransmit {
      Count = 1;
    }
    expect(delegated({ Retransmit: new Retransmit() })).toBe(1);
    expect(delegated({ KeepAlive: { ProbeCount: '1' } })).toBe(1);
    // Keys the encoder computes itself are skipped, not refused.
    expect(general(partWith('Ip4OffloadConstState', 'PATH_OFFLOAD_STATE_CONST', { SourceAddress: 'junk', DestinationAddress: 5, '*Other': 1 }))).toBe(0);
  });

  it('IPv4 text: dotted quads of one to three digits a part are fast; IPv6 text is never counted', () => {
    const ip = (source: string, type = 'Ip4OffloadConstState'): number => general(partWith(type, 'PATH_OFFLOAD_STATE_CONST', { '*SourceAddress': source, '*DestinationAddress': type === 'Ip4OffloadConstState' ? '0.0.0.0' : '::' }));
    for (const text of ['1.2.3.4', '001.002.003.004', '255.255.255.255', '0.0.0.0', '9.99.199.250']) expect(ip(text), text).toBe(0);
    expect(ip('fe80::1', 'Ip6OffloadConstState')).toBe(0);
    expect(ip('::ffff:1.2.3.4', 'Ip6OffloadConstState')).toBe(0);
  });
});
