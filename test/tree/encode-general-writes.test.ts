/**
 * encodeTree's fast paths are taken where they should be: EncodedImage.generalWrites counts the
 * structures, context cells and IPv4 addresses written by the general code instead. The bytes are
 * the same either way (test/tree/encode-fast.test.ts checks that against the reference encoder);
 * what these tests catch is a fast path that stopped accepting what it is for, which only the
 * benchmark would otherwise notice.
 */
import { describe, expect, it } from 'vitest';
import { encodeTree, type BlockInput, type EncodeInput } from '../../src/index.js';
import { referenceEncodeTree } from '../support/encode-reference.js';

/** A TCP block as a fixture description gives it: plain numbers, names, "0x" pointers, nested structs. */
function tcp(abiName: 'x64' | 'x86', i: number): BlockInput {
  const ptr = abiName === 'x64' ? '0xffffc70a0f6e2a40' : '0x8f6e2a40';
  return {
    role: 'new-offload',
    type: 'TcpOffloadState',
    Status: i % 2 ? 'NDIS_STATUS_SUCCESS' : 0xc0000001, // a name, and an unsigned number read as NTSTATUS
    state: {
      TCP_OFFLOAD_STATE_CONST: { Flags: 7, RemotePort: 443, LocalPort: 49152 + i, SndWindScale: 15, RcvWindScale: 14, RemoteMss: 1460, HashValue: 0xffffffff },
      TCP_OFFLOAD_STATE_CACHED: { Flags: 3, InitialRcvWnd: 65535, FlowLabel: 0xfffff, TtlOrHopLimit: 128, UserPriority: 7, Header: { Length: 999 } },
      TCP_OFFLOAD_STATE_DELEGATED: {
        State: 'TcpConnectionEstablished',
        SndUna: 0xfffffffe,
        KeepAlive: { ProbeCount: 255, TimeoutDelta: 7200000 },
        Retransmit: { Count: 1, TimeoutDelta: 0 },
        SendDataHead: ptr,
        SendDataTail: '0x0',
        DWnd: 1,
      },
    },
  };
}

function fastDocument(abi: 'x64' | 'x86'): EncodeInput {
  return {
    abi,
    blocks: [
      {
        role: 'linker',
        type: 'NeighborOffloadState',
        '*MiniportOffloadContext': abi === 'x64' ? '0xffffc70a0f6e2a40' : '0x8f6e2a40',
        dependents: [
          {
            role: 'new-offload',
            type: 'Ip4OffloadState',
            Status: -1,
            state: {
              PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': '10.0.0.1', '*DestinationAddress': '255.255.255.0' },
              PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 },
              PATH_OFFLOAD_STATE_DELEGATED: {},
            },
            dependents: [tcp(abi, 0), tcp(abi, 1), { role: 'placeholder' }],
          },
        ],
      },
      { role: 'placeholder', type: 'TcpOffloadState' },
    ],
  };
}

describe('EncodedImage.generalWrites', () => {
  for (const abi of ['x64', 'x86'] as const) {
    it(`${abi}: a fixture description (names, plain numbers at their maxima, "0x" pointers, nested structs, dotted IPv4) takes no general write`, () => {
      const doc = fastDocument(abi);
      const e = encodeTree(doc);
      expect(e.generalWrites).toBe(0);
      expect(e.bytes).toEqual(referenceEncodeTree(doc).bytes);
    });
  }

  // Each variation sends exactly the structures it touches through the general code, same bytes.
  const variations: [string, (d: EncodeInput) => void, number][] = [
    ['a block member other than Status (NextBlock given)', (d) => void (d.blocks[0]!.NextBlock = '0x0'), 1],
    ['a Status out of the fast range (a bigint)', (d) => void (d.blocks[0]!.dependents![0]!.Status = 5n as never), 1],
    ['a state member given as a bigint', (d) => void (d.blocks[0]!.dependents![0]!.state!.PATH_OFFLOAD_STATE_CACHED!.PathMtu = 1500n as never), 1],
    ['a state member given as decimal text', (d) => void (d.blocks[0]!.dependents![0]!.state!.PATH_OFFLOAD_STATE_CACHED!.PathMtu = '1500' as never), 1],
    ['a pointer member given as a number', (d) => void (tcpOf(d).state!.TCP_OFFLOAD_STATE_DELEGATED!.SendDataTail = 0), 0],
    ['a pointer member given as a bigint', (d) => void (tcpOf(d).state!.TCP_OFFLOAD_STATE_DELEGATED!.SendDataTail = 0n as never), 1],
    ['a bit-field given as text', (d) => void (tcpOf(d).state!.TCP_OFFLOAD_STATE_CONST!.SndWindScale = '15' as never), 1],
    ['a nested struct member given as text', (d) => void ((tcpOf(d).state!.TCP_OFFLOAD_STATE_DELEGATED!.KeepAlive as Record<string, unknown>).ProbeCount = '255'), 1],
    ['a Header with Length left out', (d) => void (tcpOf(d).state!.TCP_OFFLOAD_STATE_CACHED!.Header = {}), 1],
    ['the connection state as a number', (d) => void (tcpOf(d).state!.TCP_OFFLOAD_STATE_DELEGATED!.State = 4), 0],
    ['a context cell given as a bigint', (d) => void (d.blocks[0]!['*MiniportOffloadContext'] = 0x8f6e2a40n as never), 1],
  ];
  for (const [what, edit, expected] of variations) {
    it(`${what}: ${expected} general write(s), the same bytes as the reference encoder`, () => {
      for (const abi of ['x64', 'x86'] as const) {
        const doc = fastDocument(abi);
        edit(doc);
        const e = encodeTree(doc);
        expect(e.generalWrites).toBe(expected);
        expect(e.bytes).toEqual(referenceEncodeTree(doc).bytes);
      }
    });
  }

  it('IPv4 text the fast writer does not take is refused by the general code, with the same message as the reference', () => {
    for (const text of ['10.0.0.0010', '10.0.0', '10.0.0.1.2', '10.0.0.256', '10..0.1', '10.0.0.x', '']) {
      const doc = fastDocument('x64');
      pathConst(doc)['*SourceAddress'] = text;
      const message = `blocks[0].dependents[0].state.PATH_OFFLOAD_STATE_CONST.*SourceAddress: '${text}' is not an IPv4 address`;
      expect(() => encodeTree(doc), text).toThrow(message);
      expect(() => referenceEncodeTree(doc), text).toThrow(message);
    }
  });
});

function tcpOf(d: EncodeInput): BlockInput {
  return d.blocks[0]!.dependents![0]!.dependents![0]!;
}

function pathConst(d: EncodeInput): Record<string, unknown> {
  return d.blocks[0]!.dependents![0]!.state!.PATH_OFFLOAD_STATE_CONST!;
}
