/**
 * Members stored in network byte order (the TCP ports): the descriptors mark them, the layouts carry
 * the mark, and the generated views give the value in host order (`RemotePortHost`) beside the
 * stored word (`RemotePort`), for every ABI and NDIS revision and inside the combined TCP state.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { viewsFor } from '../../src/codec/views.js';
import { LayoutError } from '../../src/errors.js';
import { ABIS, X64 } from '../../src/layout/abi.js';
import { NDIS_REVISIONS, UCHAR, ULONG, USHORT, bits, field, struct } from '../../src/layout/descriptor.js';
import { placeStruct, type PlacedField } from '../../src/layout/msvc.js';
import { STRUCTS, isNetworkOrder, layoutOf } from '../../src/layout/registry.js';
import { fcParams } from '../support/arbitraries.js';

const CASES = ABIS.flatMap((abi) => NDIS_REVISIONS.map((ndis) => ({ abi, ndis })));
const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >> 8);

/** Every `struct.member` (dotted) marked network order in the layouts of one ABI and revision. */
function marked(fields: readonly PlacedField[], prefix: string): string[] {
  return fields.flatMap((f) => (f.fields ? marked(f.fields, `${prefix}${f.name}.`) : f.networkOrder ? [`${prefix}${f.name}`] : []));
}

describe('network byte order in the descriptors and layouts', () => {
  it.each(CASES)('exactly the two ports of TCP_OFFLOAD_STATE_CONST are marked ($abi.name, NDIS $ndis)', ({ abi, ndis }) => {
    const all = STRUCTS.flatMap((s) => marked(layoutOf(s.name, abi, ndis).fields, `${s.name}.`));
    expect(all).toEqual([
      'TCP_OFFLOAD_STATE_CONST.RemotePort',
      'TCP_OFFLOAD_STATE_CONST.LocalPort',
      'TCP_OFFLOAD_STATE.ConstState.RemotePort',
      'TCP_OFFLOAD_STATE.ConstState.LocalPort',
    ]);
  });

  it('isNetworkOrder answers by struct and (dotted) member name', () => {
    expect(isNetworkOrder('TCP_OFFLOAD_STATE_CONST', 'RemotePort')).toBe(true);
    expect(isNetworkOrder('TCP_OFFLOAD_STATE_CONST', 'LocalPort')).toBe(true);
    expect(isNetworkOrder('TCP_OFFLOAD_STATE', 'ConstState.LocalPort')).toBe(true);
    expect(isNetworkOrder('TCP_OFFLOAD_STATE_CONST', 'RemoteMss')).toBe(false);
    expect(isNetworkOrder('TCP_OFFLOAD_STATE', 'RemotePort')).toBe(false);
    expect(isNetworkOrder('TCP_OFFLOAD_STATE', 'ConstState')).toBe(false);
    expect(isNetworkOrder('NO_SUCH_STRUCT', 'RemotePort')).toBe(false);
  });

  it('the layout engine refuses the mark where a byte order means nothing or cannot be honoured', () => {
    const place = (m: ReturnType<typeof field>) => () => placeStruct(struct('S', 'doc', [m]), X64, '6.1', () => undefined);
    expect(place(field('b', UCHAR, { networkOrder: true }))).toThrow(LayoutError);
    expect(place(field('b', UCHAR, { networkOrder: true }))).toThrow('S.b: network byte order needs a whole integer of 2 or 4 bytes, not UCHAR');
    expect(place({ ...bits('w', ULONG, 3), networkOrder: true })).toThrow('S.w: network byte order needs a whole integer of 2 or 4 bytes, not ULONG : 3');
    expect(placeStruct(struct('S', 'doc', [field('p', USHORT, { networkOrder: true })]), X64, '6.1', () => undefined).fields[0]!.networkOrder).toBe(true);
  });
});

describe.each(CASES)('host-order accessors of the generated views ($abi.name, NDIS $ndis)', ({ abi, ndis }) => {
  const views = viewsFor(abi, ndis);

  it('only the marked members have one', () => {
    const hosts = Object.entries(views).flatMap(([name, cls]) =>
      Object.getOwnPropertyNames(cls.prototype)
        .filter((p) => p.endsWith('Host'))
        .map((p) => `${name}.${p}`),
    );
    expect(hosts).toEqual(['TCP_OFFLOAD_STATE_CONST.RemotePortHost', 'TCP_OFFLOAD_STATE_CONST.LocalPortHost']);
  });

  it('read the stored bytes big-endian and write them so, beside the stored word', () => {
    const size = views.TCP_OFFLOAD_STATE_CONST.size;
    const remote = layoutOf('TCP_OFFLOAD_STATE_CONST', abi, ndis).fields.find((f) => f.name === 'RemotePort')!.offset;
    const local = layoutOf('TCP_OFFLOAD_STATE_CONST', abi, ndis).fields.find((f) => f.name === 'LocalPort')!.offset;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 8 }), (r, l, at) => {
        const bytes = new Uint8Array(size + 8).fill(0xa5);
        const dv = new DataView(bytes.buffer);
        const v = new views.TCP_OFFLOAD_STATE_CONST().at(dv, at);
        v.RemotePortHost = r;
        v.LocalPortHost = l;
        expect([bytes[at + remote], bytes[at + remote + 1], bytes[at + local], bytes[at + local + 1]]).toEqual([r >> 8, r & 0xff, l >> 8, l & 0xff]);
        expect([v.RemotePort, v.LocalPort]).toEqual([swap16(r), swap16(l)]);
        expect([v.RemotePortHost, v.LocalPortHost]).toEqual([r, l]);
        // Nothing else changed.
        const others = [...bytes].filter((_, i) => ![remote, remote + 1, local, local + 1].includes(i - at));
        expect(others.every((b) => b === 0xa5)).toBe(true);
        // The combined TCP state reaches them through ConstState.
        const whole = new views.TCP_OFFLOAD_STATE().at(dv, at);
        expect([whole.ConstState.RemotePortHost, whole.ConstState.LocalPortHost]).toEqual([r, l]);
      }),
      fcParams(),
    );
  });
});

describe('the sample capture', () => {
  it("its first new-offload TCP block's ports read 445 and 49721 in host order", () => {
    const bytes = new Uint8Array(readFileSync('fixtures/sample-x64.bin'));
    const { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, TCP_OFFLOAD_STATE_CONST } = viewsFor(X64, '6.1');
    const tcp = new TCP_OFFLOAD_STATE_CONST().at(new DataView(bytes.buffer), 0x178 + NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.size);
    expect([tcp.RemotePort, tcp.RemotePortHost]).toEqual([48385, 445]);
    expect([tcp.LocalPort, tcp.LocalPortHost]).toEqual([14786, 49721]);
  });
});
