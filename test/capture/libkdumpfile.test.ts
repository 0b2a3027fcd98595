// Cross-check with an independent reader: libkdumpfile (Debian's python3-libkdumpfile, 0.5.1)
// reads the generated ELF cores' physical memory, and every frame it returns must be the frame
// src/capture reads; the frames we call absent, it cannot read either. A missing libkdumpfile is a
// test failure that says how to install it, never a skip.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/codec/physical.js';
import { openCaptureSource, openFileReader } from '../../src/capture/index.js';
import { type ElfCoreOptions, writeElfCore } from '../support/capture-writers.js';
import { standardSpace, standardTrees } from '../support/dump-trees.js';

const SPACE = standardSpace(standardTrees());
const DIR = mkdtempSync(join(tmpdir(), 'ndis-kdumpfile-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const SCRIPT = `
import hashlib, sys, kdumpfile
k = kdumpfile.kdumpfile(sys.argv[1])
print(k.attr['arch.name'])
for a in sys.argv[2:]:
    try:
        print(a, hashlib.sha256(bytes(k.read(kdumpfile.KDUMP_MACHPHYSADDR, int(a, 16), 4096))).hexdigest())
    except kdumpfile.exceptions.NoDataException:
        print(a, 'absent')
`;

const MISSING =
  'libkdumpfile is not installed for python3: install it (`apt-get install python3-libkdumpfile`; .ci/run needs it too). ' +
  'It is the independent reader these tests check the ELF cores against.';

function python(): string {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import kdumpfile'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return py;
  }
  throw new Error(MISSING);
}

function libkdumpfile(path: string, addresses: readonly number[]): { arch: string; pages: Map<number, string> } {
  const r = spawnSync(python(), ['-c', SCRIPT, path, ...addresses.map((a) => a.toString(16))], { encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.stderr).toBe('');
  const [arch, ...lines] = r.stdout.trim().split('\n');
  return { arch: arch!, pages: new Map(lines.map((l) => [parseInt(l.split(' ')[0]!, 16), l.split(' ')[1]!])) };
}

const sha = (b: Uint8Array | undefined): string => (b ? createHash('sha256').update(b).digest('hex') : 'absent');

const CASES: [string, ElfCoreOptions, string][] = [
  ['QEMU ELF64, RAM runs', {}, 'x86_64'],
  ['QEMU ELF64, scattered frames', { ranges: 'frames' }, 'x86_64'],
  ['QEMU ELF32, scattered frames, PN_XNUM', { elfClass: 32, ranges: 'frames', xnum: true }, 'ia32'],
  ['VirtualBox ELF64, an MMIO range', { producer: 'virtualbox', ranges: 'frames', mmio: [{ physical: 0xfe000000, length: 0x100000 }] }, 'x86_64'],
];

describe('ELF cores: libkdumpfile reads the same physical memory', () => {
  for (const [name, options, arch] of CASES) {
    it(name, () => {
      const path = join(DIR, `${name.replace(/\W+/g, '-')}.core`);
      writeElfCore(SPACE, options).toFile(path);
      const c = openCaptureSource(openFileReader(path));
      try {
        const stored = [...SPACE.frames.keys()].sort((a, b) => a - b);
        // Every frame with content, the frames around each range and a few far away.
        const probes = new Set<number>(stored);
        for (const r of c.ranges) for (const p of [r.physical / PAGE_SIZE - 1, (r.physical + r.length) / PAGE_SIZE]) if (p >= 1) probes.add(p);
        for (const p of [0x9f, 0xfe000, 0xfe0ff, 0xfe100, 0x7ffff]) probes.add(p);
        const list = [...probes].sort((a, b) => a - b);
        const theirs = libkdumpfile(path, list.map((p) => p * PAGE_SIZE));
        expect(theirs.arch).toBe(arch);
        const ours = new Map(list.map((p) => [p * PAGE_SIZE, sha(c.readFrame(p))]));
        // One known difference: libkdumpfile 0.5.1 (elfdump.c, elf_read_page) fills the page just
        // below a PT_LOAD with zeros, where the core holds nothing for it; we call that page absent.
        const starts = new Set(c.ranges.map((r) => r.physical));
        const zero = sha(new Uint8Array(PAGE_SIZE));
        const below = list.filter((p) => starts.has((p + 1) * PAGE_SIZE) && ours.get(p * PAGE_SIZE) === 'absent').map((p) => p * PAGE_SIZE);
        expect(below.length).toBeGreaterThan(0);
        for (const a of below) {
          expect(theirs.pages.get(a), `0x${a.toString(16)}`).toBe(zero);
          theirs.pages.set(a, 'absent');
        }
        expect(theirs.pages).toEqual(ours);
        expect([...ours.values()].filter((h) => h !== 'absent').length).toBeGreaterThanOrEqual(stored.length);
      } finally {
        c.close();
      }
    });
  }
});
