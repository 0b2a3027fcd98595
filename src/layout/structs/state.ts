import {
  UCHAR,
  ULONG,
  USHORT,
  anonStruct,
  array,
  bits,
  enumRef,
  field,
  inline,
  pointer,
  struct,
  structRef,
  union,
} from '../descriptor.js';

const header = field('Header', structRef('OFFLOAD_STATE_HEADER'));

// ---- neighbor layer ----

export const NEIGHBOR_OFFLOAD_STATE_CONST = struct(
  'NEIGHBOR_OFFLOAD_STATE_CONST',
  'Neighbor state that never changes: the source link-layer address and VLAN.',
  [header, field('DlSourceAddress', array(UCHAR, 32)), bits('VlanId', ULONG, 12)],
);

export const NEIGHBOR_OFFLOAD_STATE_CACHED = struct(
  'NEIGHBOR_OFFLOAD_STATE_CACHED',
  'Neighbor state the host stack owns and may update.',
  [header, field('DlDestinationAddress', array(UCHAR, 32)), field('HostReachabilityDelta', ULONG)],
);

export const NEIGHBOR_OFFLOAD_STATE_DELEGATED = struct(
  'NEIGHBOR_OFFLOAD_STATE_DELEGATED',
  'Neighbor state the offload target owns while offloaded.',
  [header, field('NicReachabilityDelta', ULONG)],
);

// ---- path layer (IPv4 and IPv6 share these; the block's Type says which address size) ----

export const PATH_OFFLOAD_STATE_CONST = struct(
  'PATH_OFFLOAD_STATE_CONST',
  'Path state that never changes: pointers to the source and destination IP address bytes.',
  [header, field('SourceAddress', pointer('UCHAR')), field('DestinationAddress', pointer('UCHAR'))],
);

export const PATH_OFFLOAD_STATE_CACHED = struct(
  'PATH_OFFLOAD_STATE_CACHED',
  'Path state the host stack owns: the path MTU.',
  [header, field('PathMtu', ULONG)],
);

export const PATH_OFFLOAD_STATE_DELEGATED = struct(
  'PATH_OFFLOAD_STATE_DELEGATED',
  'Path state the offload target owns: only the header.',
  [header],
);

// ---- TCP layer ----

export const TCP_OFFLOAD_STATE_CONST = struct(
  'TCP_OFFLOAD_STATE_CONST',
  'TCP connection state fixed at offload time: ports (network byte order), scaling, MSS.',
  [
    header,
    field('Flags', USHORT),
    field('RemotePort', USHORT, { networkOrder: true }),
    field('LocalPort', USHORT, { networkOrder: true }),
    bits('SndWindScale', UCHAR, 4),
    bits('RcvWindScale', UCHAR, 4),
    field('RemoteMss', USHORT),
    field('HashValue', ULONG),
  ],
);

export const TCP_OFFLOAD_STATE_CACHED = struct(
  'TCP_OFFLOAD_STATE_CACHED',
  'TCP connection state the host stack owns: keep-alive, retransmit limits, flow label, TTL.',
  [
    header,
    field('Flags', USHORT),
    field('InitialRcvWnd', ULONG),
    field('RcvIndicationSize', ULONG),
    field('KaProbeCount', UCHAR),
    field('KaTimeout', ULONG),
    field('KaInterval', ULONG),
    field('MaxRT', ULONG),
    bits('FlowLabel', ULONG, 20),
    field('TtlOrHopLimit', UCHAR),
    field('TosOrTrafficClass', UCHAR),
    bits('UserPriority', UCHAR, 3),
  ],
);

export const TCP_OFFLOAD_STATE_DELEGATED = struct(
  'TCP_OFFLOAD_STATE_DELEGATED',
  'TCP connection state the offload target owns: sequence numbers, windows, timers. DWnd from NDIS 6.1.',
  [
    header,
    field('State', enumRef('TCP_OFFLOAD_CONNECTION_STATE')),
    field('Flags', USHORT),
    ...['RcvNxt', 'RcvWnd', 'SndUna', 'SndNxt', 'SndMax', 'SndWnd', 'MaxSndWnd', 'SendWL1', 'CWnd', 'SsThresh'].map(
      (name) => field(name, ULONG),
    ),
    field('SRtt', USHORT),
    field('RttVar', USHORT),
    ...['TsRecent', 'TsRecentAge', 'TsTime', 'TotalRT'].map((name) => field(name, ULONG)),
    field('DupAckCount', UCHAR),
    field('SndWndProbeCount', UCHAR),
    field('KeepAlive', inline(field('ProbeCount', UCHAR), field('TimeoutDelta', ULONG))),
    field('Retransmit', inline(field('Count', UCHAR), field('TimeoutDelta', ULONG))),
    union(
      anonStruct(
        field('SendDataHead', pointer('NET_BUFFER_LIST')),
        field('SendDataTail', pointer('NET_BUFFER_LIST')),
      ),
      field('SendBacklogSize', ULONG),
    ),
    union(field('BufferedData', pointer('NET_BUFFER_LIST')), field('ReceiveBacklogSize', ULONG)),
    field('DWnd', ULONG, { since: '6.1' }),
  ],
);

// ---- "all of the state": the host stack declares const, cached, delegated as one struct ----

function combined(name: string, layer: string, part: string) {
  return struct(name, `All of the ${layer} state: const, cached and delegated as members of one struct.`, [
    field('ConstState', structRef(`${part}_CONST`)),
    field('CachedState', structRef(`${part}_CACHED`)),
    field('DelegatedState', structRef(`${part}_DELEGATED`)),
  ]);
}

export const NEIGHBOR_OFFLOAD_STATE = combined('NEIGHBOR_OFFLOAD_STATE', 'neighbor', 'NEIGHBOR_OFFLOAD_STATE');
export const IP4_OFFLOAD_STATE = combined('IP4_OFFLOAD_STATE', 'IPv4 path', 'PATH_OFFLOAD_STATE');
export const IP6_OFFLOAD_STATE = combined('IP6_OFFLOAD_STATE', 'IPv6 path', 'PATH_OFFLOAD_STATE');
export const TCP_OFFLOAD_STATE = combined('TCP_OFFLOAD_STATE', 'TCP', 'TCP_OFFLOAD_STATE');
