// Cross-check with an independent translator: addrxlat (libkdumpfile's address translation
// library; Debian's python3-libkdumpfile 0.5.1, which has the IA-32 and IA-32 PAE page table
// formats) walks the generated PAE and non-PAE tables, and every address it translates must
// translate to the same physical address here; the addresses it cannot translate we cannot read
// either. The one difference is Windows' transition PTEs, which addrxlat (a Linux tool) does not
// know: those it calls not present, and we read their frame. A missing addrxlat is a test failure
// that says how to install it, never a skip.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferSource } from '../../src/codec/physical.js';
import type { X86PagedImage } from '../../src/capture/address-spaces/x86-paging.js';
import { openDump32 } from '../../src/capture/sources/dump32.js';
import { buildX86Space, type X86Space, writeBitmapDump32, x86Regions, x86Trees } from '../support/x86-dumps.js';

const DIR = mkdtempSync(join(tmpdir(), 'ndis-addrxlat-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const SCRIPT = `
import struct, sys, addrxlat
frames = {}
with open(sys.argv[1], 'rb') as f:
    data = f.read()
for at in range(0, len(data), 4104):
    frames[struct.unpack_from('<Q', data, at)[0]] = data[at + 8:at + 4104]
pae = sys.argv[2] == 'pae'
class Memory(addrxlat.Context):
    def __init__(self, *args, **kwargs):
        super(Memory, self).__init__(*args, **kwargs)
    def cb_read_caps(self):
        return addrxlat.CAPS(addrxlat.MACHPHYSADDR)
    def cb_get_page(self, addr):
        page = frames.get(addr.addr >> 12)
        if page is None:
            return None
        return (bytearray(page[addr.addr & 0xfff:]), addrxlat.LITTLE_ENDIAN)
ctx = Memory()
system = addrxlat.System()
root = addrxlat.FullAddress(addrxlat.MACHPHYSADDR, int(sys.argv[3], 16))
if pae:
    meth = addrxlat.PageTableMethod(addrxlat.MACHPHYSADDR, root=root, pte_format=addrxlat.PTE_IA32_PAE, fields=(12, 9, 9, 2))
else:
    meth = addrxlat.PageTableMethod(addrxlat.MACHPHYSADDR, root=root, pte_format=addrxlat.PTE_IA32, fields=(12, 10, 10))
system.set_meth(addrxlat.SYS_METH_PGT, meth)
hw = addrxlat.Map()
hw.set(0, addrxlat.Range(0xffffffff, addrxlat.SYS_METH_PGT))
system.set_map(addrxlat.SYS_MAP_HW, hw)
for a in sys.stdin.read().split():
    full = addrxlat.FullAddress(addrxlat.KVADDR, int(a, 16))
    try:
        full.conv(addrxlat.MACHPHYSADDR, ctx, system)
        print(a, hex(full.addr))
    except addrxlat.BaseException as e:
        print(a, 'none', type(e).__name__)
`;

const MISSING =
  'addrxlat is not installed for /usr/bin/python3: install it (`apt-get install -y python3-libkdumpfile`, Debian 12 has 0.5.1; .ci/run needs it too). ' +
  'It is the independent translator these tests check the x86 page tables against.';

function python(): string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import addrxlat'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return py;
  }
  throw new Error(MISSING);
}

/** addrxlat's translation of each address: a physical address, or the exception it raised. */
function addrxlat(space: X86Space, tableAddress: number, addresses: readonly number[]): Map<number, string> {
  const file = join(DIR, `${space.paging}-${addresses.length}.frames`);
  const chunks: Uint8Array[] = [];
  for (const [pfn, bytes] of space.frames) {
    const head = new Uint8Array(8);
    new DataView(head.buffer).setBigUint64(0, BigInt(pfn), true);
    chunks.push(head, bytes);
  }
  writeFileSync(file, Buffer.concat(chunks));
  const r = spawnSync(python(), ['-c', SCRIPT, file, space.paging, tableAddress.toString(16)], {
    input: addresses.map((a) => a.toString(16)).join('\n'),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return new Map(r.stdout.trim().split('\n').map((l) => {
    const [a, pa, why] = l.split(' ');
    return [parseInt(a!, 16), pa === 'none' ? `none ${why}` : pa!];
  }));
}

/** Ours: the physical address, whether or not the dump stores the frame (the text names its PFN). */
function ours(image: X86PagedImage, address: number): string {
  const pa = image.physicalAddress(BigInt(address));
  if (pa !== undefined) return `0x${pa.toString(16)}`;
  const m = /page not in the capture \(PFN (0x[0-9a-f]+)/.exec(image.explain(BigInt(address), 1));
  return m ? `0x${(BigInt(m[1]!) * 4096n + BigInt(address & 0xfff)).toString(16)}` : 'none';
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TREES = x86Trees();
const big = TREES.find((t) => t.name === 'large-x64')!;
const page = (a: number): number => (a & ~0xfff) >>> 0;
const transition = [page(big.root) + 0x3000, page(big.root) + 0x5000];
const holes = { missing: [page(big.root) + 0x4000], pagedOut: [page(big.root) + 0x6000], notStored: [page(big.root) + 0x7000] };

/** Every page of every tree, the holes, the self-map's window, and random kernel addresses. */
function addressesOf(space: X86Space): number[] {
  const out = new Set<number>();
  const random = prng(17);
  for (const t of TREES) for (let a = t.root; a < t.root + t.bytes.length; a += 0x1000) out.add(page(a) + Math.floor(random() * 0x1000));
  for (const a of [...transition, ...holes.missing, ...holes.pagedOut, ...holes.notStored]) out.add(a + 0x123);
  for (let a = 0xc0000000; a < 0xc0800000; a += 0x1000 * 7) out.add(a + 0x10);
  for (let i = 0; i < 3000; i++) out.add(Math.floor(0x80000000 + random() * 0x80000000));
  expect(space.frames.size).toBeGreaterThan(25);
  return [...out];
}

describe('x86 page tables: addrxlat translates them the same', () => {
  const cases = [
    ['PAE, frames above 4 GiB, the PDPT mid-frame, a 2 MiB page, the self-map', { paging: 'pae' as const, high: true }],
    ['PAE, frames below 4 GiB', { paging: 'pae' as const, pdptOffset: 0x20 }],
    ['non-PAE, a 4 MiB page, the self-map', { paging: 'non-pae' as const }],
  ] as const;
  for (const [name, options] of cases) {
    it(name, () => {
      const space = buildX86Space(x86Regions(TREES), { scatter: 21, selfMap: true, transition, ...holes, ...options });
      const dump = openDump32(new BufferSource(writeBitmapDump32(space).toBytes()));
      const image = dump.image();
      const addresses = addressesOf(space);
      const theirs = addrxlat(space, image.tableAddress, addresses);
      expect(theirs.size).toBe(addresses.length);
      let translated = 0;
      for (const a of addresses) {
        const mine = ours(image, a);
        const t = theirs.get(a)!;
        if (transition.includes(page(a))) {
          // Windows keeps a page on the standby list behind a transition PTE: we read it, addrxlat cannot.
          expect([a.toString(16), t]).toEqual([a.toString(16), 'none NotPresentError']);
          expect(mine).toMatch(/^0x/);
        } else {
          expect([a.toString(16), mine]).toEqual([a.toString(16), t.startsWith('none') ? 'none' : t]);
          if (!t.startsWith('none')) translated += a >= 0xc0000000 && a < 0xc0800000 ? 1000 : 1;
        }
      }
      // The tree pages (some 30) and the self-map window (counted by the thousand) translate: the check is not vacuous.
      expect(translated % 1000).toBeGreaterThan(25);
      expect(translated).toBeGreaterThan(1000);
      if (options.paging === 'pae' && 'high' in options) expect([...theirs.values()].some((p) => p.length > 10)).toBe(true);
    });
  }
});
