// Cross-check with an independent translator: libaddrxlat (Debian's python3-libkdumpfile, 0.5.1)
// walks the x86-64 page tables of a generated raw image from the DTB that findDtb chose, and
// every address must translate to the physical address PagedImage gives (or to nothing where it
// gives nothing). The one known difference is asserted: a Windows transition PTE (Present 0,
// Transition 1) still names its frame for this reader; addrxlat, which knows no Windows, calls it
// not present. A missing libaddrxlat is a test failure that says how to install it, never a skip.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeRawPhysical } from '../../src/codec/dump-writer.js';
import { PagedImage } from '../../src/codec/paged.js';
import { openPhysicalImage } from '../../src/codec/physical.js';
import { findDtb } from '../../src/capture/dtb.js';
import { KUSER_SHARED_DATA, addJunk, addUserTables, kernelSpace } from '../support/dtb-images.js';
import { secondPage, standardTrees } from '../support/dump-trees.js';

const DIR = mkdtempSync(join(tmpdir(), 'ndis-addrxlat-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

// Reads the raw image through a Context callback; a System set up for x86_64 with the given root.
const SCRIPT = `
import sys, addrxlat
f = open(sys.argv[1], 'rb')
class Image(addrxlat.Context):
    def __init__(self, *args, **kwargs):
        super(Image, self).__init__(*args, **kwargs)
    def cb_read_caps(self):
        return addrxlat.CAPS(addrxlat.MACHPHYSADDR)
    def cb_get_page(self, addr):
        f.seek(addr.addr)
        b = f.read(4096 - (addr.addr & 0xfff))
        if len(b) == 0:
            raise addrxlat.NoDataError('no page at 0x%x' % addr.addr)
        return (bytearray(b), addrxlat.LITTLE_ENDIAN)
ctx = Image()
system = addrxlat.System()
system.os_init(ctx, arch='x86_64', virt_bits=48, rootpgt=addrxlat.FullAddress(addrxlat.MACHPHYSADDR, int(sys.argv[2], 16)))
for a in sys.argv[3:]:
    fa = addrxlat.FullAddress(addrxlat.KVADDR, int(a, 16))
    try:
        fa.conv(addrxlat.MACHPHYSADDR, ctx, system)
        print(a, '%x' % fa.addr)
    except addrxlat.NotPresentError:
        print(a, 'absent')
`;

const MISSING =
  'libaddrxlat is not installed for python3: install it (`apt-get install python3-libkdumpfile`; .ci/run needs it too). ' +
  'It is the independent translator these tests check the page tables against.';

function python(): string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import addrxlat'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return py;
  }
  throw new Error(MISSING);
}

function addrxlat(path: string, dtb: bigint, addresses: readonly bigint[]): Map<bigint, bigint | undefined> {
  const r = spawnSync(python(), ['-c', SCRIPT, path, dtb.toString(16), ...addresses.map((a) => a.toString(16))], { encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [a, p] = l.split(' ');
        return [BigInt(`0x${a}`), p === 'absent' ? undefined : BigInt(`0x${p}`)] as const;
      }),
  );
}

describe('libaddrxlat translates the generated tables as PagedImage does', () => {
  it('from the DTB findDtb chose among decoys: every page of every tree, KUSER_SHARED_DATA, holes', () => {
    const trees = standardTrees();
    const space = kernelSpace(0x1e0);
    addUserTables(space, 0x160, true);
    addJunk(space, 0x170, 'bare');
    const file = join(DIR, 'memory.raw');
    writeRawPhysical(space).toFile(file);
    const memory = openPhysicalImage(file);
    try {
      const found = findDtb(memory, { root: trees[0]!.root });
      expect(found.dtb).toBe(space.dtb & ~0xfffn);
      const image = new PagedImage(memory, found.dtb);
      const addresses: bigint[] = [KUSER_SHARED_DATA, KUSER_SHARED_DATA + 0x1000n, 0xffffc70a00000000n, 0xfffff80000000000n];
      for (const t of trees) {
        for (let a = t.root & ~0xfffn; a < t.root + BigInt(t.bytes.length); a += 0x1000n) addresses.push(a + 0x123n);
        addresses.push(t.root + BigInt(t.bytes.length) + 0x3000n); // past the tree
      }
      const theirs = addrxlat(file, found.dtb, addresses);
      expect(theirs.size).toBe(new Set(addresses).size);
      const transition = secondPage(trees.find((t) => t.name === 'sample-x64')!) + 0x123n;
      let translated = 0;
      for (const a of addresses) {
        const ours = image.physicalAddress(a);
        if (a === transition) {
          expect(ours).toBeDefined();
          expect(theirs.get(a)).toBeUndefined();
          continue;
        }
        expect([a, theirs.get(a)]).toEqual([a, ours]);
        if (ours !== undefined) translated++;
      }
      // The 2 MiB page and the 4 KiB pages of every tree, and KUSER_SHARED_DATA, translated.
      expect(translated).toBeGreaterThan(trees.length + 1);
    } finally {
      memory.close();
    }
  });
});
