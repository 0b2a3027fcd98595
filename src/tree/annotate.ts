/**
 * Labels every byte of a decoded tree: which block, structure and member it belongs to, and which
 * bytes are padding. The hexdump command prints these; a test can check that they tile exactly.
 */
import type { Abi } from '../layout/abi.js';
import { stateType } from '../layout/constants.js';
import type { NdisRevision } from '../layout/descriptor.js';
import type { PlacedField, StructLayout } from '../layout/msvc.js';
import { layoutOf } from '../layout/registry.js';
import type { BlockJson, TreeDocument } from './document.js';
import { stateParts, stateSize } from './state.js';

export interface ByteRange {
  /** Virtual address of the first byte. */
  address: bigint;
  size: number;
  /** `blocks[0].dependents[1]`: the block the range belongs to. */
  path: string;
  /** `NDIS_MINIPORT_OFFLOAD_BLOCK_LIST.NextBlock`, `TCP_OFFLOAD_STATE_CONST.Header.Length`, `*SourceAddress`. */
  label: string;
  padding: boolean;
}

/** The member ranges of one structure, padding included, in address order. */
export function structRanges(layout: StructLayout, address: bigint, path: string): ByteRange[] {
  const leaves: { offset: number; size: number; name: string }[] = [];
  const walk = (fields: readonly PlacedField[], prefix: string): void => {
    for (const f of fields) {
      if (f.fields) walk(f.fields, `${prefix}${f.name}.`);
      else leaves.push({ offset: f.offset, size: f.size, name: `${prefix}${f.name}` });
    }
  };
  walk(layout.fields, '');
  // Union alternatives and bit-fields share bytes: merge ranges that overlap into one label.
  leaves.sort((a, b) => a.offset - b.offset || b.size - a.size);
  const merged: { offset: number; size: number; names: string[] }[] = [];
  for (const l of leaves) {
    const last = merged[merged.length - 1];
    if (last && l.offset < last.offset + last.size) {
      if (!last.names.includes(l.name)) last.names.push(l.name);
      last.size = Math.max(last.size, l.offset + l.size - last.offset);
    } else merged.push({ offset: l.offset, size: l.size, names: [l.name] });
  }
  const out: ByteRange[] = [];
  let at = 0;
  const pad = (to: number): void => {
    if (to > at) out.push({ address: address + BigInt(at), size: to - at, path, label: `${layout.name} padding`, padding: true });
  };
  for (const m of merged) {
    pad(m.offset);
    out.push({ address: address + BigInt(m.offset), size: m.size, path, label: `${layout.name}.${m.names.join(' | ')}`, padding: false });
    at = m.offset + m.size;
  }
  pad(layout.size);
  return out;
}

/** Every labelled range of a decoded tree, in address order. */
export function annotateTree(doc: TreeDocument, abi: Abi): ByteRange[] {
  const ndis = doc.ndis as NdisRevision;
  const block = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis);
  const ptr = abi.pointerSize;
  const out: ByteRange[] = [];
  const stack: { b: BlockJson; path: string }[] = doc.blocks.map((b, i) => ({ b, path: `blocks[${i}]` })).reverse();
  while (stack.length) {
    const { b, path } = stack.pop()!;
    const address = BigInt(b.address);
    out.push(...structRanges(block, address, path));
    if (b['*MiniportOffloadContext'] !== undefined) {
      out.push({ address: BigInt(b.MiniportOffloadContext as string), size: ptr, path, label: '*MiniportOffloadContext', padding: false });
    }
    const type = stateType(b.Header.Type);
    if (b.state && type) {
      const parts = stateParts(type, abi, ndis);
      let end = 0;
      for (const part of parts) {
        if (!b.state[part.name]) continue;
        const partAddress = address + BigInt(block.size + part.offset);
        if (part.offset > end) out.push({ address: address + BigInt(block.size + end), size: part.offset - end, path, label: `${type.combined} padding`, padding: true });
        out.push(...structRanges(part.layout, partAddress, path));
        end = part.offset + part.layout.size;
        const json = b.state[part.name]!;
        for (const m of ['SourceAddress', 'DestinationAddress']) {
          if (typeof json[`*${m}`] === 'string') {
            out.push({ address: BigInt(json[m] as string), size: type.addressBytes!, path, label: `*${m}`, padding: false });
          }
        }
      }
      // The combined structure's tail padding, after its last part (when that part is there).
      const size = stateSize(type, abi, ndis);
      const last = parts[parts.length - 1]; // (a Type with no parts has no state to pad)
      if (last && b.state[last.name] && size > end) {
        out.push({ address: address + BigInt(block.size + end), size: size - end, path, label: `${type.combined} padding`, padding: true });
      }
    }
    b.dependents.forEach((d, i) => stack.push({ b: d, path: `${path}.dependents[${i}]` })); // order: sorted below
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}
