/** Every structure this project knows, and their layouts per ABI and NDIS revision (computed once). */
import { ABIS, type Abi, X64 } from './abi.js';
import type { NdisRevision, StructDescriptor } from './descriptor.js';
import { placeStruct, type StructLayout } from './msvc.js';
import * as ndis from './structs/ndis.js';
import * as state from './structs/state.js';
import { UsageError } from '../errors.js';
import { didYouMean } from '../suggest.js';

/** In the order a reader meets them: the block list, then the state that follows it. */
export const STRUCTS: readonly StructDescriptor[] = [
  ndis.NDIS_OBJECT_HEADER,
  ndis.NDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
  ndis.NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST,
  ndis.OFFLOAD_STATE_HEADER,
  state.NEIGHBOR_OFFLOAD_STATE_CONST,
  state.NEIGHBOR_OFFLOAD_STATE_CACHED,
  state.NEIGHBOR_OFFLOAD_STATE_DELEGATED,
  state.PATH_OFFLOAD_STATE_CONST,
  state.PATH_OFFLOAD_STATE_CACHED,
  state.PATH_OFFLOAD_STATE_DELEGATED,
  state.TCP_OFFLOAD_STATE_CONST,
  state.TCP_OFFLOAD_STATE_CACHED,
  state.TCP_OFFLOAD_STATE_DELEGATED,
  state.NEIGHBOR_OFFLOAD_STATE,
  state.IP4_OFFLOAD_STATE,
  state.IP6_OFFLOAD_STATE,
  state.TCP_OFFLOAD_STATE,
];

export type StructName = (typeof STRUCTS)[number]['name'];

const byName = new Map(STRUCTS.map((s) => [s.name, s]));
/** WinDbg's tag names (`_NDIS_MINIPORT_OFFLOAD_BLOCK_LIST`) and any case lead to the same structure. */
const userKey = (name: string): string => name.replace(/^_+/, '').toUpperCase();
const byUserKey = new Map(STRUCTS.map((s) => [userKey(s.name), s]));

/**
 * The descriptor of a structure by its WDK name, or as a WinDbg user types it: with the tag's
 * leading underscore, in any case. An unknown name is refused with the closest known names.
 */
export function descriptorOf(name: string): StructDescriptor {
  const d = byName.get(name) ?? byUserKey.get(userKey(name));
  if (!d) {
    const names = STRUCTS.map((s) => s.name);
    throw new UsageError(`unknown structure '${name}'${didYouMean(name, names) || ` (known: ${names.join(', ')})`}`);
  }
  return d;
}

export const DEFAULT_NDIS: NdisRevision = '6.1';

const cache = new Map<string, StructLayout>();

/** The layout of a structure for an ABI and NDIS revision (6.1 by default). */
export function layoutOf(name: string, abi: Abi = X64, ndisRevision: NdisRevision = DEFAULT_NDIS): StructLayout {
  let key = `${name}/${abi.name}/${ndisRevision}`;
  let l = cache.get(key);
  if (!l) {
    const d = descriptorOf(name);
    key = `${d.name}/${abi.name}/${ndisRevision}`;
    l = cache.get(key);
    if (l) return l;
    l = placeStruct(d, abi, ndisRevision, (n) => byName.get(n));
    cache.set(key, l);
  }
  return l;
}

/** Every layout for one ABI and revision, in STRUCTS order. */
export const allLayouts = (abi: Abi, ndisRevision: NdisRevision = DEFAULT_NDIS): StructLayout[] =>
  STRUCTS.map((s) => layoutOf(s.name, abi, ndisRevision));

export { ABIS };

/**
 * Whether `structName`.`member` is stored in network byte order (big-endian), as the ports of
 * TCP_OFFLOAD_STATE_CONST are. `member` is a C member name, dotted into nested structures
 * (`ConstState.RemotePort`); an unknown structure or member is not.
 */
export function isNetworkOrder(structName: string, member: string): boolean {
  const layout = byName.has(structName) ? layoutOf(structName) : undefined;
  let fields = layout?.fields;
  const names = member.split('.');
  for (const [i, name] of names.entries()) {
    const f = fields?.find((x) => x.name === name);
    if (!f) return false;
    if (i === names.length - 1) return f.networkOrder === true;
    fields = f.fields;
  }
  return false;
}
