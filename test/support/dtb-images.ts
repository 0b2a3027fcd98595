/**
 * Raw physical images for DTB discovery: the standard trees behind a Windows-like kernel PML4
 * (self-map entry, KUSER_SHARED_DATA mapped) at a chosen frame, plus what misleads a search: a low
 * stub (PROCESSOR_START_BLOCK) right or stale, user processes' tables that map themselves too, and
 * junk pages that happen to reference themselves.
 */
import { type AddressSpace, type AddressSpaceOptions, buildAddressSpace } from '../../src/codec/dump-builder.js';
import { PAGE_SIZE } from '../../src/codec/physical.js';
import { type PlacedTree, regionsOf, secondPage, standardTrees } from './dump-trees.js';

export const KUSER_SHARED_DATA = 0xfffff78000000000n;
/** Windows 10's randomised self-map index is anywhere in 0x100..0x1FE; this one is not 0x1ED. */
export const SELF_MAP = 0x1a3;
/** KUSER_SHARED_DATA's first bytes: TickCountLowDeprecated 0, TickCountMultiplier 0x0fa00000. */
const KUSER_BYTES = Uint8Array.from([0, 0, 0, 0, 0, 0, 0xa0, 0x0f]);

export const idx = (va: bigint, level: number): number => Number((va >> BigInt(39 - 9 * level)) & 0x1ffn);
const entry = (pfn: number, flags = 0x63n): bigint => (BigInt(pfn) << 12n) | flags;
const put = (page: Uint8Array, i: number, value: bigint): void => new DataView(page.buffer, page.byteOffset).setBigUint64(i * 8, value, true);

/** The standard trees and KUSER_SHARED_DATA behind a self-mapping PML4 at `rootPfn`. */
export function kernelSpace(rootPfn: number, options: AddressSpaceOptions = {}, trees: readonly PlacedTree[] = standardTrees()): AddressSpace {
  const sample = trees.find((t) => t.name === 'sample-x64');
  return buildAddressSpace([...regionsOf(trees), { address: KUSER_SHARED_DATA, bytes: KUSER_BYTES }], {
    scatter: 7,
    dtbFlags: 0x1,
    ...(sample ? { transition: [secondPage(sample)] } : {}),
    selfMap: SELF_MAP,
    rootPfn,
    ...options,
  });
}

function page(space: AddressSpace, pfn: number): Uint8Array {
  if (space.frames.has(pfn)) throw new Error(`frame 0x${pfn.toString(16)} is already used`);
  if (pfn >= space.physicalPages) throw new Error(`frame 0x${pfn.toString(16)} is past the image`);
  const p = new Uint8Array(PAGE_SIZE);
  space.frames.set(pfn, p);
  return p;
}

/**
 * A user process's PML4 at `pfn` (tables at pfn+1..pfn+4): it maps itself at the same index and
 * one user page; with `kuser`, KUSER_SHARED_DATA too (as a KVA shadow table does) but nothing else
 * of the kernel.
 */
export function addUserTables(space: AddressSpace, pfn: number, kuser = false): void {
  const pml4 = page(space, pfn);
  put(pml4, SELF_MAP, entry(pfn));
  mapChain(space, pml4, 0x7ff612340000n, [pfn + 1, pfn + 2, pfn + 3], pfn + 4, 0x67n);
  if (kuser) mapChain(space, pml4, KUSER_SHARED_DATA, [pfn + 5, pfn + 6, pfn + 7], pfn + 8, 0x63n, KUSER_BYTES);
}

function mapChain(space: AddressSpace, pml4: Uint8Array, va: bigint, tables: number[], data: number, flags: bigint, bytes?: Uint8Array): void {
  let table = pml4;
  for (let level = 0; level < 3; level++) {
    put(table, idx(va, level), entry(tables[level]!, flags));
    table = page(space, tables[level]!);
  }
  put(table, idx(va, 3), entry(data, flags));
  const d = page(space, data);
  if (bytes) d.set(bytes);
  else d.fill(0x5a);
}

/** Pages of junk that reference themselves: kinds the page test must refuse, and one it lets through. */
export function addJunk(space: AddressSpace, pfn: number, kind: 'reserved-bit' | 'two-self-maps' | 'past-memory' | 'bare'): void {
  const p = page(space, pfn);
  for (let i = 0; i < 512; i += 37) put(p, i, entry(0x100 + i) | 0x8000000000000000n); // present entries that lead to zero pages
  put(p, 0x1b0, entry(pfn));
  if (kind === 'reserved-bit') put(p, 0x180, entry(0x140, 0xe3n)); // PS in a PML4E
  if (kind === 'two-self-maps') put(p, 0x1c0, entry(pfn));
  if (kind === 'past-memory') put(p, 0x181, entry(space.physicalPages + 0x1000));
}

/** A PROCESSOR_START_BLOCK in the low page `pfn` holding `cr3`. */
export function addLowStub(space: AddressSpace, pfn: number, cr3: bigint): void {
  const p = page(space, pfn);
  const v = new DataView(p.buffer);
  v.setBigUint64(0x00, 0x00000001000633e9n, true); // jmp +0x33, CompletionFlag 1
  v.setBigUint64(0x70, 0xfffff8034a1b2c40n, true); // LmTarget
  v.setBigUint64(0xa0, cr3, true);
}
