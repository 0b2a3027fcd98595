/**
 * The C compiler as a test oracle: build a C source with `gcc -std=c11 -mms-bitfields -O0`
 * (`-m32` for x86) and either run it (`compileAndRun`) or read a section of the compiled object
 * without running it (`compileAndExtract`, which needs only a compiler for the target).
 *
 * A missing gcc is a test failure, never a skip: every call throws a message saying to install it.
 * A missing x86 target (gcc-multilib) lets tests opt out through `gate`, visibly, except under CI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Abi, AbiName } from '../../src/layout/abi.js';

const GCC = 'gcc';
const FLAGS = ['-std=c11', '-mms-bitfields', '-O0'];

export type Target = Abi | AbiName;
const targetName = (t: Target): AbiName => (typeof t === 'string' ? t : t.name);
const targetFlags = (t: Target): string[] => (targetName(t) === 'x86' ? ['-m32'] : []);

const MISSING_GCC =
  'gcc is not installed or cannot build a program: install gcc and gcc-multilib ' +
  '(e.g. `apt-get install gcc gcc-multilib`). The C compiler is the oracle these tests check the layouts against.';
const MISSING_M32 =
  'gcc -m32 cannot build a program: install gcc-multilib (e.g. `apt-get install gcc-multilib`); .ci/run installs it.';
const NO_X86_EXEC =
  'this machine cannot execute 32-bit x86 programs (a kernel without IA32 emulation); gcc-multilib cannot fix that.';

function run(cmd: string, args: string[], cwd: string): { ok: boolean; stdout: string; detail: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 60_000 });
  const detail = r.error ? String(r.error.message) : `${r.stderr ?? ''}`.trim() || `exit status ${r.status}`;
  return { ok: !r.error && r.status === 0, stdout: r.stdout ?? '', detail };
}

/** Runs `fn` in a fresh temp dir, removed afterwards unless `fn` throws (then kept for a look). */
function inTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-cc-'));
  let result: T;
  try {
    result = fn(dir);
  } catch (e) {
    if (e instanceof Error) e.message += `\n(sources kept in ${dir})`;
    throw e;
  }
  rmSync(dir, { recursive: true, force: true });
  return result;
}

interface Capabilities {
  /** gcc builds and runs an x64 program. */
  available: boolean;
  /** gcc -m32 builds an x86 program (gcc-multilib is installed). */
  m32: boolean;
  /** ...and this machine can execute it. */
  m32Run: boolean;
}

let detected: Capabilities | undefined;
let x86Launcher: string[] = [];

/** The command prefix that executes a compiled program of `target` here: none, or `qemu-i386`. */
export function launcherFor(target: Target): string[] {
  detect();
  return targetName(target) === 'x86' ? x86Launcher : [];
}

/** Tries a trivial program once per process: can gcc build it, for which targets, and can it run. */
function detect(): Capabilities {
  if (detected) return detected;
  const trivial = '#include <stdint.h>\n#include <stdio.h>\nint main(void) { printf("%d", (int)sizeof(void *)); return 0; }\n';
  detected = inTempDir((dir) => {
    writeFileSync(join(dir, 't.c'), trivial);
    const works = (flags: string[], pointer: string, launchers: string[][]): { builds: boolean; runs: boolean; launcher: string[] } => {
      const built = run(GCC, [...FLAGS, ...flags, '-o', 't', 't.c'], dir).ok;
      for (const launcher of built ? launchers : []) {
        const [cmd, ...pre] = [...launcher, join(dir, 't')];
        const ran = run(cmd!, pre, dir);
        if (ran.ok && ran.stdout === pointer) return { builds: true, runs: true, launcher };
      }
      return { builds: built, runs: false, launcher: [] };
    };
    const x64 = works([], '8', [[]]);
    // Some kernels (Firecracker VMs) cannot execute 32-bit programs: qemu-i386 (Debian's qemu-user) can.
    const x86 = x64.builds ? works(['-m32'], '4', [[], ['qemu-i386']]) : { builds: false, runs: false, launcher: [] };
    x86Launcher = x86.launcher;
    return { available: x64.builds && x64.runs, m32: x86.builds, m32Run: x86.runs };
  });
  return detected;
}

/** What this machine's C compiler can do; each is detected once, on first use. */
export const cc = {
  get available(): boolean {
    return detect().available;
  },
  get m32(): boolean {
    return detect().m32;
  },
  get m32Run(): boolean {
    return detect().m32Run;
  },
};

/** Throws, loudly, unless gcc can build for `target` (and, with `exec`, the result can run here). */
export function requireTarget(target: Target, exec = false): void {
  if (!cc.available) throw new Error(MISSING_GCC);
  if (targetName(target) !== 'x86') return;
  if (!cc.m32) throw new Error(MISSING_M32);
  if (exec && !cc.m32Run) throw new Error(NO_X86_EXEC);
}

function build(dir: string, source: string, target: Target, args: string[]): void {
  writeFileSync(join(dir, 'probe.c'), source);
  const r = run(GCC, [...FLAGS, ...targetFlags(target), ...args, 'probe.c'], dir);
  if (!r.ok) throw new Error(`gcc (${targetName(target)}) rejected the generated C source:\n${r.detail}`);
}

/** Compiles `source` for the target, runs it and returns its standard output. */
export function compileAndRun(source: string, options: { abi: Target }): string {
  requireTarget(options.abi, true);
  return inTempDir((dir) => {
    build(dir, source, options.abi, ['-o', 'probe']);
    const [cmd, ...args] = [...launcherFor(options.abi), join(dir, 'probe')];
    const r = run(cmd!, args, dir);
    if (!r.ok) throw new Error(`the compiled program failed (${targetName(options.abi)}): ${r.detail}`);
    return r.stdout;
  });
}

/**
 * Compiles `source` for the target without linking or running it and returns the bytes of one
 * section of the object file, e.g. data placed with `__attribute__((section("name")))`. The data
 * must be constant and free of relocations (no addresses), as it is read unlinked.
 */
export function compileAndExtract(source: string, options: { abi: Target; section: string }): Buffer {
  requireTarget(options.abi);
  return inTempDir((dir) => {
    build(dir, source, options.abi, ['-c', '-o', 'probe.o']);
    const r = run('objcopy', ['-O', 'binary', `--only-section=${options.section}`, 'probe.o', 'probe.bin'], dir);
    if (!r.ok) throw new Error(`objcopy could not extract section ${options.section}: ${r.detail}`);
    const bytes = readFileSync(join(dir, 'probe.bin'));
    if (bytes.length === 0) throw new Error(`the object file has no section ${options.section} (or it is empty)`);
    return bytes;
  });
}

const warned = new Set<string>();

/**
 * For `it.skipIf`: whether tests needing `target` (to compile, or also to run its programs) must
 * be left out here, and a test-name suffix saying so. A missing gcc never skips (the test fails
 * with the install message), nor does a missing gcc-multilib under CI (where .ci/run installs
 * it). A skip is also reported with console.warn, so it is seen outside the test names too.
 */
export function gate(target: Target, need: 'compile' | 'run' = 'compile'): { skip: boolean; note: string } {
  if (!cc.available || targetName(target) !== 'x86') return { skip: false, note: '' };
  let note = '';
  let why = '';
  if (!cc.m32 && !process.env.CI) [note, why] = ['(NOT RUN: gcc-multilib missing, install it)', MISSING_M32];
  else if (cc.m32 && need === 'run' && !cc.m32Run && !process.env.CI) [note, why] = ['(NOT RUN: cannot execute x86 programs here)', NO_X86_EXEC];
  if (!note) return { skip: false, note: '' };
  if (!warned.has(note)) {
    warned.add(note);
    console.warn(`x86 tests NOT RUN: ${why}`);
  }
  return { skip: true, note: ` ${note}` };
}
