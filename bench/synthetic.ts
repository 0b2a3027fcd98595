/**
 * Synthetic trees shaped like a busy host: neighbors (linkers: already offloaded), IPv4 paths and
 * TCP connections (new offloads with the full TcpOffloadState), as JSON documents for encodeTree:
 * an initiate as the host stack hands it over (every Status still NDIS_STATUS_SUCCESS, 0).
 */
import type { BlockInput, EncodeInput } from '../src/index.js';

export interface Shape {
  neighbors: number;
  paths: number;
  connections: number;
}

/** Tree sizes by suffix: TCP blocks = neighbors x paths x connections. */
export const SIZES: Record<'10k' | '100k' | '1m', Shape> = {
  '10k': { neighbors: 10, paths: 10, connections: 100 },
  '100k': { neighbors: 10, paths: 100, connections: 100 },
  '1m': { neighbors: 10, paths: 1000, connections: 100 },
};
export type SizeName = keyof typeof SIZES;
export const tcpBlocks = (s: Shape): number => s.neighbors * s.paths * s.connections;

export const BASE = 0xffffc70a00000000n;

/** Deterministic 32-bit values (a xorshift) so every run builds the same bytes. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const VARIANTS = 64;

/** A few distinct cached/delegated states, shared by many connections (keeps 1m documents small). */
function tcpVariants(): { cached: Record<string, unknown>[]; delegated: Record<string, unknown>[] } {
  const r = rng(7);
  const cached = [];
  const delegated = [];
  const states = ['TcpConnectionEstablished', 'TcpConnectionEstablished', 'TcpConnectionCloseWait', 'TcpConnectionFinWait1'];
  for (let i = 0; i < VARIANTS; i++) {
    cached.push({
      Flags: 3,
      InitialRcvWnd: 65535,
      RcvIndicationSize: 8192,
      KaProbeCount: 10,
      KaTimeout: 7200000,
      KaInterval: 1000,
      MaxRT: 5,
      FlowLabel: r() & 0xfffff,
      TtlOrHopLimit: 128,
      TosOrTrafficClass: i & 0xff,
      UserPriority: i & 7,
    });
    const snd = r();
    delegated.push({
      State: states[i % states.length],
      Flags: 0,
      RcvNxt: r(),
      RcvWnd: 262144,
      SndUna: snd,
      SndNxt: snd,
      SndMax: snd,
      SndWnd: 131328,
      MaxSndWnd: 262656,
      SendWL1: r(),
      CWnd: 14600,
      SsThresh: 65535,
      SRtt: 24 + (i & 15),
      RttVar: 8,
      TsRecent: r(),
      TsRecentAge: 12,
      TsTime: r(),
      TotalRT: 0,
      DupAckCount: 0,
      SndWndProbeCount: 0,
      KeepAlive: { ProbeCount: 0, TimeoutDelta: 7200000 },
      Retransmit: { Count: 0, TimeoutDelta: 0 },
      SendDataHead: '0x0000000000000000',
      SendDataTail: '0x0000000000000000',
      BufferedData: '0x0000000000000000',
      DWnd: 0,
    });
  }
  return { cached, delegated };
}

/** The document, and the sum of LocalPort + RemotePort over its TCP blocks (what the walks compute). */
export function syntheticDocument(shape: Shape): { doc: EncodeInput; portSum: number } {
  const r = rng(12345);
  const { cached, delegated } = tcpVariants();
  let portSum = 0;
  let k = 0;
  const neighbors: BlockInput[] = [];
  for (let n = 0; n < shape.neighbors; n++) {
    const paths: BlockInput[] = [];
    for (let p = 0; p < shape.paths; p++) {
      const connections: BlockInput[] = [];
      for (let c = 0; c < shape.connections; c++, k++) {
        const local = 49152 + (k % 16384);
        const remote = r() & 0xffff;
        portSum += local + remote;
        connections.push({
          role: 'new-offload',
          type: 'TcpOffloadState',
          state: {
            TCP_OFFLOAD_STATE_CONST: {
              Flags: 7,
              RemotePort: remote,
              LocalPort: local,
              SndWindScale: 8,
              RcvWindScale: 7,
              RemoteMss: 1460,
              HashValue: r(),
            },
            TCP_OFFLOAD_STATE_CACHED: cached[k % VARIANTS]!,
            TCP_OFFLOAD_STATE_DELEGATED: delegated[(k >>> 6) % VARIANTS]!,
          },
        });
      }
      paths.push({
        role: 'new-offload',
        type: 'Ip4OffloadState',
        state: {
          PATH_OFFLOAD_STATE_CONST: { '*SourceAddress': `10.0.${n}.1`, '*DestinationAddress': `10.${1 + (n % 250)}.${(p >> 8) & 255}.${p & 255}` },
          PATH_OFFLOAD_STATE_CACHED: { PathMtu: 1500 },
          PATH_OFFLOAD_STATE_DELEGATED: {},
        },
        dependents: connections,
      });
    }
    neighbors.push({
      role: 'linker',
      type: 'NeighborOffloadState',
      '*MiniportOffloadContext': `0xffffc70a0f6e${(0x2a40 + n * 0x40).toString(16).padStart(4, '0')}`,
      dependents: paths,
    });
  }
  return {
    doc: { format: 'ndis-offload-tree/1', abi: 'x64', ndis: '6.1', base: `0x${BASE.toString(16)}`, blocks: neighbors },
    portSum,
  };
}
