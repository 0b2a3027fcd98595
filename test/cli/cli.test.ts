import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../../src/cli/main.js';

const SAMPLE = 'fixtures/sample-x64.bin';
const BASE = '0xffffc70a12340000';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ndis-offload-cli-'));

describe('the command line on good input', () => {
  it('decodes the sample as a tree with names, addresses and IPs', async () => {
    const r = await run('decode', SAMPLE, '--base', BASE, '--operation', 'initiate');
    expect(r.code).toBe(0);
    expect(r.out).toContain('├─ neighbor blocks[0] 0xffffc70a12340000');
    expect(r.out).toContain('SourceAddress            : 0xffffc70a12340170 → 192.168.1.20');
    expect(r.out).toContain('RemotePort               : 445 (stored 0xbd01');
    expect(r.out).toContain('0 errors, 0 warnings');
    expect(r.out).not.toContain('\u001b['); // no colour when not a terminal
  });

  it('prints the JSON document, and encode turns it back into the same bytes', async () => {
    const dir = tmp();
    const r = await run('decode', SAMPLE, '--base', BASE, '--json');
    expect(JSON.parse(r.out).format).toBe('ndis-offload-tree/1');
    writeFileSync(join(dir, 'tree.json'), r.out);
    expect((await run('encode', join(dir, 'tree.json'), '-o', join(dir, 'compact.bin'), '--base', BASE)).code).toBe(0);
    expect(readFileSync(join(dir, 'compact.bin')).equals(readFileSync(SAMPLE))).toBe(true);
    expect((await run('encode', join(dir, 'tree.json'), '--onto', SAMPLE, '--base', BASE, '-o', join(dir, 'onto.bin'))).code).toBe(0);
    expect(readFileSync(join(dir, 'onto.bin')).equals(readFileSync(SAMPLE))).toBe(true);
  });

  it('completes in place and reports roles and statuses', async () => {
    const dir = tmp();
    const image = join(dir, 'req.bin');
    copyFileSync(SAMPLE, image);
    const r = await run('complete', image, '--base', BASE, '--operation', 'initiate', '--fail', '0xffffc70a12340178=NDIS_STATUS_OFFLOAD_TCP_ENTRIES');
    expect(r.code).toBe(0);
    expect(r.out).toContain('10 blocks (1 placeholder, 1 linker, 8 new-offload)');
    const v = await run('decode', image, '--base', BASE, '--operation', 'initiate', '--json');
    expect(JSON.parse(v.out).blocks[0].dependents[0].dependents[0].Status.name).toBe('NDIS_STATUS_OFFLOAD_TCP_ENTRIES');
    expect(readdirSync(dir)).toEqual(['req.bin']); // no temporary file left behind
  });

  it('validate: exit 0 when clean, 1 with problems', async () => {
    expect((await run('validate', SAMPLE, '--base', BASE, '--operation', 'initiate')).code).toBe(0);
    const r = await run('validate', SAMPLE, '--base', BASE, '--operation', 'query');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/warning STATUS_NOT_ALLOWED blocks\[0\] Status @0xffffc70a12340018 \(offset 0x18\)/);
  });

  it('has --help for every command and --version', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const r = await run(name, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: ndis-offload ${name}`));
      expect(r.out).toContain('Example');
    }
    expect((await run('--version')).out).toBe(`${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
  });

  it('prints every layout as JSON agreeing with the text', async () => {
    const r = await run('layout', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', '--abi', 'x86', '--json');
    const [l] = JSON.parse(r.out);
    expect(l.size).toBe(76);
    expect((await run('layout', 'NDIS_MINIPORT_OFFLOAD_BLOCK_LIST')).out).toContain('+0x008 NextBlock              : Ptr64 _NDIS_MINIPORT_OFFLOAD_BLOCK_LIST');
  });
});

describe('the command line on bad input: documented exit code, one line naming the fault, no partial output', () => {
  const dir = tmp();
  const empty = join(dir, 'empty.bin');
  writeFileSync(empty, '');
  const badJson = join(dir, 'bad.json');
  writeFileSync(badJson, '{"blocks": [ {');
  const cases: { name: string; argv: string[]; exit: number; says: RegExp; output?: string }[] = [
    { name: 'no command', argv: [], exit: 2, says: /^$/ },
    { name: 'unknown command', argv: ['frobnicate'], exit: 2, says: /unknown command 'frobnicate'/ },
    { name: 'unknown option', argv: ['decode', SAMPLE, '--base', BASE, '--colour'], exit: 2, says: /--colour/ },
    { name: 'missing file', argv: ['decode', join(dir, 'nope.bin'), '--base', BASE], exit: 4, says: /nope\.bin: no such file/ },
    { name: 'a folder as the file', argv: ['decode', dir, '--base', BASE], exit: 4, says: /is a folder|EISDIR/ },
    { name: 'empty file', argv: ['decode', empty, '--base', BASE], exit: 3, says: /empty\.bin: the file is empty/ },
    // Unreadable: the tests run as root, whom permissions do not stop; /proc/self/mem fails its first read (EIO).
    { name: 'unreadable file', argv: ['decode', '/proc/self/mem', '--base', BASE], exit: 4, says: /^ndis-offload: \/proc\/self\/mem: cannot be read \(i\/o error\)$/m },
    { name: 'unreadable file to complete', argv: ['complete', '/proc/self/mem', '--base', BASE, '--operation', 'initiate', '-o', join(dir, 'u.bin')], exit: 4, says: /\/proc\/self\/mem: cannot be read/, output: join(dir, 'u.bin') },
    { name: 'unreadable capture to encode onto', argv: ['encode', 'fixtures/sample-x64.json', '--onto', '/proc/self/mem', '--base', BASE, '-o', join(dir, 'o.bin')], exit: 4, says: /\/proc\/self\/mem: cannot be read/, output: join(dir, 'o.bin') },
    { name: 'non-hex base', argv: ['decode', SAMPLE, '--base', 'kernel'], exit: 2, says: /--base: 'kernel' is not a hexadecimal address/ },
    { name: 'base over 64 bits', argv: ['decode', SAMPLE, '--base', '0x1ffffc70a12340000'], exit: 2, says: /--base/ },
    { name: 'missing base', argv: ['decode', SAMPLE], exit: 2, says: /--base HEX is required/ },
    { name: 'root outside the image', argv: ['decode', SAMPLE, '--base', BASE, '--root', '0xffff800000000000'], exit: 3, says: /POINTER_OUTSIDE_IMAGE/ },
    { name: 'unknown operation', argv: ['decode', SAMPLE, '--base', BASE, '--operation', 'offload'], exit: 2, says: /--operation: 'offload'/ },
    { name: 'unknown ABI', argv: ['layout', '--abi', 'arm64'], exit: 2, says: /unknown ABI 'arm64'/ },
    { name: 'unknown structure', argv: ['layout', 'TCB'], exit: 2, says: /unknown structure 'TCB'/ },
    { name: 'output in a missing folder', argv: ['encode', 'fixtures/sample-x64.json', '-o', join(dir, 'no', 'out.bin')], exit: 4, says: /no such file or folder/, output: join(dir, 'no', 'out.bin') },
    { name: 'a document that is not JSON', argv: ['encode', badJson, '-o', join(dir, 'x.bin')], exit: 3, says: /bad\.json: not JSON/, output: join(dir, 'x.bin') },
    { name: 'a refused status', argv: ['complete', SAMPLE, '--base', BASE, '--operation', 'query', '--status', 'NDIS_STATUS_RESOURCES', '-o', join(dir, 'c.bin')], exit: 3, says: /NDIS_STATUS_RESOURCES is not a status query allows/, output: join(dir, 'c.bin') },
    { name: 'a bad --fail', argv: ['complete', SAMPLE, '--base', BASE, '--operation', 'initiate', '--fail', 'oops'], exit: 2, says: /--fail: 'oops' is not ADDRESS=NAME/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await run(...c.argv);
      expect(r.code).toBe(c.exit);
      const text = c.exit === 3 && c.argv[0] === 'decode' ? r.out + r.err : r.err;
      expect(text).toMatch(c.says);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.err.split('\n').filter(Boolean).length).toBeLessThanOrEqual(1);
      if (c.output) expect(existsSync(c.output)).toBe(false);
    });
  }

  it('an existing output is replaced whole, atomically', async () => {
    const out = join(dir, 'exists.bin');
    writeFileSync(out, 'old');
    expect((await run('encode', 'fixtures/sample-x64.json', '-o', out)).code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(SAMPLE))).toBe(true);
  });
});
