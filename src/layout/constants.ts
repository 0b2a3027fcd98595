/** The named constants of ndischimney.h and ndis.h that appear in a block list and its state. */

export type Layer = 'neighbor' | 'path' | 'tcp';
export const LAYERS: readonly Layer[] = ['neighbor', 'path', 'tcp'];

export interface StateType {
  readonly value: number;
  readonly name: string;
  /** The layer whose state this is; undefined for the reserved markers. */
  readonly layer?: Layer;
  /** The C structure(s) that follow the block, in memory order. */
  readonly parts: readonly string[];
  /** For the combined types, the C struct that holds the parts as members. */
  readonly combined?: string;
  /** IP address bytes behind PATH_OFFLOAD_STATE_CONST's pointers. */
  readonly addressBytes?: 4 | 16;
}

const N = ['NEIGHBOR_OFFLOAD_STATE_CONST', 'NEIGHBOR_OFFLOAD_STATE_CACHED', 'NEIGHBOR_OFFLOAD_STATE_DELEGATED'];
const P = ['PATH_OFFLOAD_STATE_CONST', 'PATH_OFFLOAD_STATE_CACHED', 'PATH_OFFLOAD_STATE_DELEGATED'];
const T = ['TCP_OFFLOAD_STATE_CONST', 'TCP_OFFLOAD_STATE_CACHED', 'TCP_OFFLOAD_STATE_DELEGATED'];

/** OFFLOAD_STATE_TYPE: the value of Header.Type in a block list. */
export const OFFLOAD_STATE_TYPE: readonly StateType[] = [
  { value: 1, name: 'NeighborOffloadConstState', layer: 'neighbor', parts: [N[0]!] },
  { value: 2, name: 'NeighborOffloadCachedState', layer: 'neighbor', parts: [N[1]!] },
  { value: 3, name: 'NeighborOffloadDelegatedState', layer: 'neighbor', parts: [N[2]!] },
  { value: 4, name: 'NeighborOffloadState', layer: 'neighbor', parts: N, combined: 'NEIGHBOR_OFFLOAD_STATE' },
  { value: 5, name: 'Ip4OffloadConstState', layer: 'path', parts: [P[0]!], addressBytes: 4 },
  { value: 6, name: 'Ip4OffloadCachedState', layer: 'path', parts: [P[1]!] },
  { value: 7, name: 'Ip4OffloadDelegatedState', layer: 'path', parts: [P[2]!] },
  { value: 8, name: 'Ip4OffloadState', layer: 'path', parts: P, combined: 'IP4_OFFLOAD_STATE', addressBytes: 4 },
  { value: 9, name: 'Ip6OffloadConstState', layer: 'path', parts: [P[0]!], addressBytes: 16 },
  { value: 10, name: 'Ip6OffloadCachedState', layer: 'path', parts: [P[1]!] },
  { value: 11, name: 'Ip6OffloadDelegatedState', layer: 'path', parts: [P[2]!] },
  { value: 12, name: 'Ip6OffloadState', layer: 'path', parts: P, combined: 'IP6_OFFLOAD_STATE', addressBytes: 16 },
  { value: 13, name: 'TcpOffloadConstState', layer: 'tcp', parts: [T[0]!] },
  { value: 14, name: 'TcpOffloadCachedState', layer: 'tcp', parts: [T[1]!] },
  { value: 15, name: 'TcpOffloadDelegatedState', layer: 'tcp', parts: [T[2]!] },
  { value: 16, name: 'TcpOffloadResourceState', layer: 'tcp', parts: [] },
  { value: 17, name: 'TcpOffloadState', layer: 'tcp', parts: T, combined: 'TCP_OFFLOAD_STATE' },
  { value: 0xfe, name: 'FilterReservedOffloadState', parts: [] },
  { value: 0xff, name: 'MaximumOffloadState', parts: [] },
];

const stateTypeByValue = new Map(OFFLOAD_STATE_TYPE.map((t) => [t.value, t]));
const stateTypeByName = new Map(OFFLOAD_STATE_TYPE.map((t) => [t.name, t]));
export const stateType = (value: number): StateType | undefined => stateTypeByValue.get(value);
export const stateTypeNamed = (name: string): StateType | undefined => stateTypeByName.get(name);

/** TCP_OFFLOAD_CONNECTION_STATE */
export const TCP_OFFLOAD_CONNECTION_STATE = [
  'TcpConnectionClosed',
  'TcpConnectionListen',
  'TcpConnectionSynSent',
  'TcpConnectionSynRcvd',
  'TcpConnectionEstablished',
  'TcpConnectionFinWait1',
  'TcpConnectionFinWait2',
  'TcpConnectionCloseWait',
  'TcpConnectionClosing',
  'TcpConnectionLastAck',
  'TcpConnectionTimeWait',
  'TcpConnectionMaxState',
] as const;

/** Flag bits, by the structure whose Flags member they belong to. */
export const FLAGS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  TCP_OFFLOAD_STATE_CONST: {
    TCP_FLAG_TIMESTAMP_ENABLED: 0x01,
    TCP_FLAG_SACK_ENABLED: 0x02,
    TCP_FLAG_WINDOW_SCALING_ENABLED: 0x04,
  },
  TCP_OFFLOAD_STATE_CACHED: {
    TCP_FLAG_KEEP_ALIVE_ENABLED: 0x01,
    TCP_FLAG_NAGLING_ENABLED: 0x02,
    TCP_FLAG_KEEP_ALIVE_RESTART: 0x04,
    TCP_FLAG_MAX_RT_RESTART: 0x08,
    TCP_FLAG_UPDATE_RCV_WND: 0x10,
  },
};

/** Names of the bits set in `value`, and any bits left over that have no name. */
export function flagNames(structName: string, value: number): string[] {
  const table = FLAGS[structName];
  if (!table) return [];
  const names: string[] = [];
  let rest = value;
  for (const [name, bit] of Object.entries(table)) {
    if (value & bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names;
}

/** NDIS_STATUS values, as the signed 32-bit integers stored in memory. */
export const NDIS_STATUS_VALUES = {
  NDIS_STATUS_SUCCESS: 0x00000000,
  NDIS_STATUS_PENDING: 0x00000103,
  NDIS_STATUS_FAILURE: 0xc0000001 | 0,
  NDIS_STATUS_RESOURCES: 0xc000009a | 0,
  NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS: 0x40020004,
  NDIS_STATUS_UPLOAD_IN_PROGRESS: 0xc0231001 | 0,
  NDIS_STATUS_REQUEST_UPLOAD: 0xc0231002 | 0,
  NDIS_STATUS_UPLOAD_REQUESTED: 0xc0231003 | 0,
  NDIS_STATUS_OFFLOAD_TCP_ENTRIES: 0xc0231004 | 0,
  NDIS_STATUS_OFFLOAD_PATH_ENTRIES: 0xc0231005 | 0,
  NDIS_STATUS_OFFLOAD_NEIGHBOR_ENTRIES: 0xc0231006 | 0,
  NDIS_STATUS_OFFLOAD_IP_ADDRESS_ENTRIES: 0xc0231007 | 0,
  NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES: 0xc0231008 | 0,
  NDIS_STATUS_OFFLOAD_VLAN_ENTRIES: 0xc0231009 | 0,
  NDIS_STATUS_OFFLOAD_TCP_XMIT_BUFFER: 0xc023100a | 0,
  NDIS_STATUS_OFFLOAD_TCP_RCV_BUFFER: 0xc023100b | 0,
  NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW: 0xc023100c | 0,
  NDIS_STATUS_OFFLOAD_VLAN_MISMATCH: 0xc023100d | 0,
  NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED: 0xc023100e | 0,
  NDIS_STATUS_OFFLOAD_POLICY: 0xc023100f | 0,
  NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED: 0xc0231010 | 0,
  NDIS_STATUS_OFFLOAD_REQUEST_RESET: 0xc0231011 | 0,
} as const;

export type NdisStatusName = keyof typeof NDIS_STATUS_VALUES;

const statusByValue = new Map<number, NdisStatusName>(
  Object.entries(NDIS_STATUS_VALUES).map(([k, v]) => [v, k as NdisStatusName]),
);

/** The name of a status word, or undefined for a value no header defines (not an error). */
export const statusName = (value: number): NdisStatusName | undefined => statusByValue.get(value | 0);

/** `0xC0000001` style: the status as an unsigned 32-bit hex word. */
export const statusHex = (value: number): string => `0x${(value >>> 0).toString(16).padStart(8, '0')}`;

/** `NDIS_STATUS_FAILURE` or `unknown (0x40020001)`. */
export const describeStatus = (value: number): string => statusName(value) ?? `unknown (${statusHex(value)})`;

export type Operation = 'initiate' | 'query' | 'update' | 'invalidate' | 'terminate';
export const OPERATIONS: readonly Operation[] = ['initiate', 'query', 'update', 'invalidate', 'terminate'];

/**
 * The Status values each operation allows. NDIS_STATUS_OFFLOAD_PATH_MTU is documented for
 * initiate but no WDK header defines a value for it, so it cannot be listed here.
 */
export const ALLOWED_STATUS: Readonly<Record<Operation, readonly NdisStatusName[]>> = {
  initiate: [
    'NDIS_STATUS_SUCCESS',
    'NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS',
    'NDIS_STATUS_FAILURE',
    'NDIS_STATUS_RESOURCES',
    'NDIS_STATUS_OFFLOAD_TCP_ENTRIES',
    'NDIS_STATUS_OFFLOAD_PATH_ENTRIES',
    'NDIS_STATUS_OFFLOAD_NEIGHBOR_ENTRIES',
    'NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES',
    'NDIS_STATUS_OFFLOAD_IP_ADDRESS_ENTRIES',
    'NDIS_STATUS_OFFLOAD_TCP_XMIT_BUFFER',
    'NDIS_STATUS_OFFLOAD_TCP_RCV_BUFFER',
    'NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW',
    'NDIS_STATUS_OFFLOAD_VLAN_ENTRIES',
    'NDIS_STATUS_OFFLOAD_VLAN_MISMATCH',
  ],
  query: ['NDIS_STATUS_SUCCESS', 'NDIS_STATUS_FAILURE'],
  update: ['NDIS_STATUS_SUCCESS', 'NDIS_STATUS_FAILURE'],
  invalidate: ['NDIS_STATUS_SUCCESS', 'NDIS_STATUS_FAILURE'],
  terminate: ['NDIS_STATUS_SUCCESS', 'NDIS_STATUS_FAILURE'],
};

export const isStatusAllowed = (op: Operation, value: number): boolean =>
  ALLOWED_STATUS[op].some((n) => NDIS_STATUS_VALUES[n] === (value | 0));

/** Which state parts the tree carries for a new-offload block, by operation. */
export const STATE_CARRIED: Readonly<Record<Operation, boolean>> = {
  initiate: true,
  query: true,
  update: true,
  invalidate: false,
  terminate: true,
};
