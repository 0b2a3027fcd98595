/** The text of docs/format.md: the shape of a tree in memory, with tables from the layouts. */
import { X64, X86 } from './abi.js';
import { OFFLOAD_STATE_TYPE } from './constants.js';
import { layoutOf } from './registry.js';

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Offsets of each part after the block, and the total, for a state type on one ABI. */
function partsOf(value: number, abi: typeof X64): string {
  const t = OFFLOAD_STATE_TYPE.find((x) => x.value === value)!;
  if (!t.parts.length) return '—';
  if (!t.combined) return `${layoutOf(t.parts[0]!, abi).size}`;
  const c = layoutOf(t.combined, abi);
  return `${c.fields.map((f) => `+${hex(f.offset)}`).join(' / ')} (${c.size})`;
}

export function formatMarkdown(): string {
  const bx64 = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X64);
  const bx86 = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', X86);
  const rows = OFFLOAD_STATE_TYPE.map(
    (t) =>
      `| ${t.value} | \`${t.name}\` | ${t.layer ?? '—'} | ${t.parts.map((p) => `\`${p}\``).join(', ') || '—'} | ${partsOf(t.value, X64)} | ${partsOf(t.value, X86)} |`,
  );
  return `<!-- Generated from src/layout by \`npm run generate\`: do not edit. -->
# The format

An offload state tree is a set of \`NDIS_MINIPORT_OFFLOAD_BLOCK_LIST\` blocks in kernel memory
(${bx64.size} bytes on x64, ${bx86.size} on x86), linked by \`NextBlock\` (the next block of the same layer)
and \`DependentBlockList\` (the first block of the next layer up: neighbor -> path -> TCP). A block
that carries state is followed immediately by its state structure(s); \`MiniportOffloadContext\`
points to a PVOID cell that says the block's role. Every member of every structure, with its
offset on each ABI, is in [layout.md](layout.md); the rules for roles, state presence and
statuses are in [tree-rules.md](tree-rules.md).

\`\`\`text
 block (NDIS_MINIPORT_OFFLOAD_BLOCK_LIST)      state that follows it (by Header.Type)
+--------------------------------------+-------------------------------------------+
| Header {Type, Revision, Size}        | OFFLOAD_STATE_HEADER {Length, ...} + data |
| NextBlock ----------> same layer     | (a combined type: CONST, CACHED and       |
| DependentBlockList -> next layer up  |  DELEGATED as members of one C struct)    |
| Status (written by the target)       +-------------------------------------------+
| MiniportOffloadContext -> PVOID cell |
| ...                                  |
+--------------------------------------+
\`\`\`

## What follows a block, by Header.Type

Sizes in bytes; for the combined types, the offset of each part after the block and the total.

| Type | name | layer | structures | x64 | x86 |
|---:|---|---|---|---|---|
${rows.join('\n')}

## Values

Little-endian. \`UCHAR\` 1 byte, \`USHORT\` 2, \`ULONG\` 4 (also on x64), \`NDIS_STATUS\` a signed 4-byte
integer, enums 4 bytes, pointers 8 bytes on x64 and 4 on x86. Bit-fields follow the Microsoft
rules: a bit-field occupies a storage unit of its declared type, bits are taken from the least
significant upwards, and bit-fields share a unit only while the unit size is the same and they fit.
Ports in TCP_OFFLOAD_STATE_CONST are stored in network byte order. IP addresses are behind the
pointers of PATH_OFFLOAD_STATE_CONST: 4 bytes for the Ip4 types, 16 for the Ip6 types.
`;
}
