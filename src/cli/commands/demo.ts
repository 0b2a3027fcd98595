/**
 * `ndis-offload demo [DIR]`: copies the sample captures that ship with the package (its fixtures
 * folder) into DIR, so that the examples of the README and of every command's --help, which read
 * fixtures/…, work for a user who installed the package. Never overwrites a file.
 */
import { constants, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from '../../errors.js';
import { EXIT, type Io } from '../io.js';

export const DEMO_HELP = `Usage: ndis-offload demo [DIR]

Writes the sample captures that ship with the package into DIR (default: fixtures, the folder
the examples of every command's --help read), each capture NAME.bin beside NAME.json, the
document it was built from (its tree, and what a decode must report for the broken ones),
sample-x64.dmp, a small crash dump holding the sample tree, initiate-x86-pae.dmp a 32-bit one,
sample-x64.lime a LiME capture, sample-x64.core a QEMU ELF core and sample-x64.vmem + .vmss a
VMware one (docs/captures.md). Creates DIR if needed. Never overwrites a file: if any of them
exists in DIR, nothing is written.

Examples:
  ndis-offload demo
  ndis-offload demo /tmp/ndis-samples`;

/** The package's folder: the first one above this module with ndis-offload's package.json. */
function packageRoot(): string {
  // dist/cli/main.js (the bundle) and src/cli/commands/demo.ts sit at different depths.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ndis-offload') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('the ndis-offload package folder was not found above the program');
    dir = up;
  }
}

/** The sample files the package ships, by name, sorted. */
export function sampleFiles(): { folder: string; names: string[] } {
  const folder = join(packageRoot(), 'fixtures');
  return { folder, names: readdirSync(folder).filter((n) => /\.(bin|core|dmp|json|lime|vmem|vmss)$/.test(n)).sort() };
}

export function runDemo(argv: string[], io: Io): number {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true });
  if (positionals.length > 1) throw new UsageError(`expected at most one DIR, got ${positionals.length}: ${positionals.join(' ')}`);
  const dir = positionals[0] ?? 'fixtures';
  if (dir === '' || dir === '-') throw new UsageError(`DIR: '${dir}' is not a folder name`);
  const { folder, names } = sampleFiles();
  const shown = dir.replace(/[\\/]+$/, '') || dir;
  const target = (n: string): string => join(dir, n);
  const taken = names.filter((n) => existsSync(target(n)));
  if (taken.length > 0) {
    const others = taken.length > 1 ? ` and ${taken.length - 1} more of the ${names.length} samples` : '';
    throw Object.assign(new Error(`already exists${others}; demo never overwrites a file and wrote nothing (give another DIR)`), {
      code: 'EEXIST',
      syscall: 'copyfile',
      path: target(taken[0]!),
    });
  }
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw Object.assign(new Error('is a file, not a folder'), { code: 'ENOTDIR', syscall: 'mkdir', path: dir });
  }
  mkdirSync(dir, { recursive: true });
  // COPYFILE_EXCL: a file that appeared since the check above is still not overwritten. A failure
  // midway (a full disk) takes back the copies made, so that a second run is not refused.
  const written: string[] = [];
  try {
    for (const n of names) {
      copyFileSync(join(folder, n), target(n), constants.COPYFILE_EXCL);
      written.push(target(n));
    }
  } catch (e) {
    for (const w of written) unlinkSync(w);
    throw e;
  }
  io.out(
    `wrote ${names.length} sample files to ${shown}/ (NAME.bin captures, NAME.json their documents, sample-x64.dmp a crash dump, sample-x64.lime, .core and .vmem + .vmss a LiME capture, a QEMU ELF core and a VMware capture)\n` +
      `try:\n` +
      `  ndis-offload decode ${shown}/sample-x64.bin --base 0xffffc70a12340000 --operation initiate\n` +
      `  ndis-offload validate ${shown}/broken-cycle.bin --base 0xffffc70a40000000\n` +
      `  ndis-offload info ${shown}/sample-x64.dmp\n` +
      `  ndis-offload scan ${shown}/sample-x64.dmp\n`,
  );
  return EXIT.OK;
}
