// `ndis-offload completion bash|zsh`: the scripts run in the real shells, called as the shells
// call them, and offer the commands, each command's options as its --help lists them, the fixed
// values (--abi, --ndis, --operation, --format, --status, --fail ADDRESS=), structure names for
// layout, and files elsewhere.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { completionSpec } from '../../src/cli/commands/completion.js';
import { COMMANDS, main } from '../../src/cli/main.js';
import { NDIS_STATUS_VALUES, OPERATIONS } from '../../src/layout/constants.js';
import { STRUCTS } from '../../src/layout/registry.js';
import { needsTool } from '../support/tools.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, env: {} });
  return { code, out, err };
}

const STATUSES = Object.keys(NDIS_STATUS_VALUES);
const COMMAND_NAMES = Object.keys(COMMANDS);

/** A folder to complete file names in. */
const DIR = mkdtempSync(join(tmpdir(), 'ndis-completion-'));
writeFileSync(join(DIR, 'capture.bin'), '');
writeFileSync(join(DIR, 'capture.dmp'), '');
writeFileSync(join(DIR, 'tree.json'), '');
mkdirSync(join(DIR, 'captures'));
const ALL_FILES = ['capture.bin', 'capture.dmp', 'captures', 'tree.json'];

const quote = (w: string): string => `'${w.replace(/'/g, `'\\''`)}'`;

/**
 * What the bash function leaves in COMPREPLY for each command line, the last word being the one
 * completed. `splitAtEquals`: as bash splits the line by default ('=' in COMP_WORDBREAKS, a word
 * of its own); else each word as typed.
 */
function bashComplete(script: string, lines: readonly string[][], splitAtEquals: boolean): string[][] {
  const calls = lines.map((words) => {
    const split = (x: string): string[] => {
      const parts = x.split(/(=)/).filter(Boolean);
      return parts.length ? parts : [''];
    };
    const list = splitAtEquals ? words.flatMap(split) : words;
    return `COMP_WORDS=(${list.map(quote).join(' ')}); COMP_CWORD=${list.length - 1}; COMPREPLY=(); _ndis_offload; printf '%s\\n' "\${COMPREPLY[@]}"; echo '<<end>>'`;
  });
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `${script}\n${calls.join('\n')}`], { encoding: 'utf8', cwd: DIR });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout
    .split('<<end>>\n')
    .slice(0, -1)
    .map((block) => block.split('\n').filter(Boolean).sort());
}

/**
 * What the zsh function offers for each command line: the words it hands compadd (before zsh
 * filters them by what is typed), `<files>` where it calls _files, and what compset moved aside.
 */
function zshComplete(script: string, lines: readonly string[][]): string[][] {
  const stubs = `compdef() { :; }
compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -rl -- "$@"; }
_files() { print -r -- '<files>'; }
compset() { [[ $1 == -P ]] && print -r -- "<compset $2>"; return 0; }
`;
  const calls = lines.map((words) => `words=(${words.map(quote).join(' ')}); CURRENT=${words.length}; _ndis_offload; print -r -- '<<end>>'`);
  const r = spawnSync('zsh', ['-f', '-c', `${stubs}\n${script}\n${calls.join('\n')}`], { encoding: 'utf8', cwd: DIR });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout
    .split('<<end>>\n')
    .slice(0, -1)
    .map((block) => block.split('\n').filter(Boolean).sort());
}

/** A command line, the last word being completed, and what the shells must offer for it. */
interface Case {
  words: string[];
  /** The candidates for the value being typed (after any '='), sorted; ['<files>'] for file names. */
  expect: string[];
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();
const starting = (prefix: string, xs: readonly string[]): string[] => sorted(xs.filter((x) => x.startsWith(prefix)));
const DECODE_OPTIONS = ['--abi', '--base', '--brief', '--dtb', '--full', '--help', '--json', '--max-blocks', '--ndis', '--ndjson', '--operation', '--physical', '--root', '--segment'];

const CASES: Case[] = [
  { words: ['ndis-offload', ''], expect: sorted([...COMMAND_NAMES, 'help', '--help', '--version']) },
  { words: ['ndis-offload', 'hex'], expect: ['hexdump'] },
  { words: ['ndis-offload', 'co'], expect: ['complete', 'completion'] },
  { words: ['ndis-offload', 'decode', '-'], expect: DECODE_OPTIONS },
  { words: ['ndis-offload', 'decode', '--m'], expect: ['--max-blocks'] },
  { words: ['ndis-offload', 'encode', 'tree.json', '-'], expect: ['--abi', '--base', '--help', '--ndis', '--onto', '--out', '-o'] },
  { words: ['ndis-offload', 'complete', '-'], expect: ['--abi', '--base', '--dtb', '--fail', '--help', '--ndis', '--operation', '--out', '--physical', '--root', '--segment', '--status', '-o'] },
  // scan's prose says "--root ADDRESS"; scan has no --root
  { words: ['ndis-offload', 'scan', '--'], expect: ['--abi', '--base', '--dtb', '--help', '--json', '--limit', '--ndis', '--physical', '--segment'] },
  { words: ['ndis-offload', 'decode', '--abi', ''], expect: ['x64', 'x86'] },
  { words: ['ndis-offload', 'decode', '--abi='], expect: ['x64', 'x86'] },
  { words: ['ndis-offload', 'decode', '--abi=x8'], expect: ['x86'] },
  { words: ['ndis-offload', 'layout', '--ndis', ''], expect: ['6.0', '6.1'] },
  { words: ['ndis-offload', 'hexdump', 'capture.bin', '--operation', 'in'], expect: ['initiate', 'invalidate'] },
  { words: ['ndis-offload', 'diff', '--operation', ''], expect: sorted(OPERATIONS) },
  { words: ['ndis-offload', 'export', '--format', ''], expect: ['hexpat', 'isf', 'ksy'] },
  { words: ['ndis-offload', 'export', ''], expect: ['--abi', '--base', '--format', '--help', '--ndis', '--out', '-o'] }, // no arguments: its options
  { words: ['ndis-offload', 'complete', 'capture.bin', '--status', 'NDIS_STATUS_OFFLOAD_'], expect: starting('NDIS_STATUS_OFFLOAD_', STATUSES) },
  { words: ['ndis-offload', 'complete', '--status', ''], expect: sorted(STATUSES) },
  { words: ['ndis-offload', 'complete', '--fail', '0xffffc70a12340178=NDIS_STATUS_SUCC'], expect: ['NDIS_STATUS_SUCCESS'] },
  { words: ['ndis-offload', 'complete', '--fail', '0xffffc70a12340178='], expect: sorted(STATUSES) },
  { words: ['ndis-offload', 'layout', 'TCP_OFFLOAD_STATE_C'], expect: ['TCP_OFFLOAD_STATE_CACHED', 'TCP_OFFLOAD_STATE_CONST'] },
  { words: ['ndis-offload', 'layout', ''], expect: sorted(STRUCTS.map((s) => s.name)) },
  { words: ['ndis-offload', 'completion', ''], expect: ['bash', 'zsh'] },
  { words: ['ndis-offload', 'help', 'de'], expect: ['decode', 'demo'] },
  // values nobody can guess: nothing, not file names
  { words: ['ndis-offload', 'decode', '--root', ''], expect: [] },
  { words: ['ndis-offload', 'decode', 'capture.bin', '--base', ''], expect: [] },
  { words: ['ndis-offload', 'scan', '--limit', ''], expect: [] },
  // files: arguments, and options whose value is a file
  { words: ['ndis-offload', 'decode', 'capt'], expect: ['<files>'] },
  { words: ['ndis-offload', 'decode', '--json', ''], expect: ['<files>'] },
  { words: ['ndis-offload', 'decode', 'capture.bin', '--base', '0xffffc70a12340000', ''], expect: ['<files>'] },
  { words: ['ndis-offload', 'encode', 'tree.json', '-o', ''], expect: ['<files>'] },
  { words: ['ndis-offload', 'encode', 'tree.json', '--onto', 'capture.b'], expect: ['<files>'] },
  { words: ['ndis-offload', 'scan', '--physical', ''], expect: ['<files>'] },
  { words: ['ndis-offload', 'diff', 'capture.bin', 'c'], expect: ['<files>'] },
];

/** The part of the last word being completed: after the last '=' of an --option=value or ADDRESS=NAME. */
const typed = (words: readonly string[]): string => words[words.length - 1]!.replace(/^.*=/, '');
/** What the shell puts before each candidate: the word up to that '='. */
const before = (words: readonly string[]): string => /^(.*=)/.exec(words[words.length - 1]!)?.[1] ?? '';
/** The files of DIR that bash offers for a prefix. */
const filesFor = (prefix: string): string[] => starting(prefix, ALL_FILES);

describe('completion: the script', () => {
  it('prints a script for bash and one for zsh; refuses anything else in one line', async () => {
    const bash = await run('completion', 'bash');
    expect(bash.code).toBe(0);
    expect(bash.out).toMatch(/^# bash completion for ndis-offload/);
    expect(bash.out).toContain('complete -F _ndis_offload ndis-offload');
    const zsh = await run('completion', 'zsh');
    expect(zsh.code).toBe(0);
    expect(zsh.out).toMatch(/^#compdef ndis-offload\n/);
    for (const [argv, says] of [
      [['completion'], /^ndis-offload: completion: which shell\? bash or zsh\n$/],
      [['completion', 'bsah'], /^ndis-offload: completion: unknown shell 'bsah' \(did you mean bash\?\); completion is written for bash and zsh\n$/],
      [['completion', 'fish'], /^ndis-offload: completion: unknown shell 'fish'; completion is written for bash and zsh\n$/],
      [['completion', 'bash', 'zsh'], /^ndis-offload: completion takes one shell, got 2 arguments\n$/],
      [['completion', 'bash', '--json'], /^ndis-offload: completion: unknown option '--json'/],
    ] as const) {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(says);
    }
  });

  it('takes the options from the help texts: every command, every option its help lists, and no other', async () => {
    const spec = completionSpec(COMMANDS);
    expect(spec.commands.map((c) => c.name)).toEqual([...COMMAND_NAMES, 'help']);
    for (const c of spec.commands.filter((x) => x.name !== 'help')) {
      const help = COMMANDS[c.name]!.help;
      const listed = new Set(c.options.flatMap((o) => o.names));
      for (const name of listed) if (name !== '--help') expect(help).toContain(name);
      // The command accepts each: it may fail for want of a file, never for an unknown option.
      for (const o of c.options) {
        if (o.names.includes('--help')) continue;
        const value = o.values?.kind === 'words' ? [o.values.words[0]!] : o.values ? ['x'] : [];
        for (const name of o.names) {
          const r = await run(c.name, name, ...value);
          expect(r.err, `${c.name} ${name}`).not.toMatch(/unknown option/i);
        }
      }
    }
    const values = (command: string, option: string) => spec.commands.find((c) => c.name === command)!.options.find((o) => o.names.includes(option))!.values;
    expect(values('complete', '--operation')).toEqual({ kind: 'words', words: OPERATIONS });
    expect(values('complete', '--status')).toEqual({ kind: 'words', words: STATUSES });
    expect(values('complete', '--fail')).toEqual({ kind: 'address=status' });
    expect(values('export', '--format')).toEqual({ kind: 'words', words: ['ksy', 'hexpat', 'isf'] });
    expect(values('scan', '--abi')).toEqual({ kind: 'words', words: ['x64', 'x86'] }); // "[--abi x64]" and "--abi x64|x86" merged
    expect(values('decode', '--segment')).toEqual({ kind: 'files' });
    expect(values('decode', '--json')).toBeUndefined();
  });
});

describe('completion in a real bash', () => {
  const script = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'completion', 'bash'], { encoding: 'utf8' }).stdout;

  it('is valid bash (bash -n), and is what the command prints', async () => {
    expect(script).toBe((await run('completion', 'bash')).out);
    const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  for (const split of [true, false]) {
    it(`offers the expected words${split ? ", '=' a word of its own (bash's default)" : ", '=' inside the word"}`, () => {
      const got = bashComplete(script, CASES.map((c) => c.words), split);
      CASES.forEach((c, i) => {
        const expected = c.expect[0] === '<files>' ? filesFor(typed(c.words)) : c.expect;
        // bash replaces the word after the '=' when '=' is a word of its own, else the whole word
        const prefix = split ? '' : before(c.words);
        expect(got[i], c.words.join(' ')).toEqual(expected.map((x) => `${prefix}${x}`));
      });
    });
  }

  it('registers the function for ndis-offload', () => {
    const r = spawnSync('bash', ['--norc', '-c', `${script}\ncomplete -p ndis-offload`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('complete -F _ndis_offload ndis-offload');
  });
});

describe('completion in a real zsh', () => {
  const zsh = needsTool('zsh');
  const script = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'completion', 'zsh'], { encoding: 'utf8' }).stdout;

  it.skipIf(!zsh.run)(`is valid zsh (zsh -n)${zsh.note}`, () => {
    zsh.require();
    const r = spawnSync('zsh', ['-n'], { input: script, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!zsh.run)(`offers the same words as bash (zsh filters them by what is typed)${zsh.note}`, () => {
    zsh.require();
    const got = zshComplete(script, CASES.map((c) => c.words));
    CASES.forEach((c, i) => {
      const offered = got[i]!.filter((x) => !x.startsWith('<compset'));
      // compset moves what is before the '=' aside, so that zsh completes after it
      const moved = got[i]!.filter((x) => x.startsWith('<compset'));
      expect(moved.length > 0, c.words.join(' ')).toBe(before(c.words) !== '');
      const words = starting(typed(c.words), offered.filter((x) => x !== '<files>'));
      expect(offered.includes('<files>') ? [...words, '<files>'] : words, c.words.join(' ')).toEqual(c.expect);
    });
  });

  it.skipIf(!zsh.run)(`completes in an interactive zsh: compinit loads it from $fpath, TAB lists and inserts${zsh.note}`, () => {
    zsh.require();
    const fpath = mkdtempSync(join(tmpdir(), 'ndis-zsh-'));
    writeFileSync(join(fpath, '_ndis-offload'), script);
    const typedLines: { line: string; list?: string[]; buffer?: string }[] = [
      { line: 'ndis-offload decode --abi ', list: ['x64', 'x86'] },
      { line: 'ndis-offload export --format=', list: ['hexpat', 'isf', 'ksy'] },
      { line: 'ndis-offload layout TCP_OFFLOAD_STATE_C', list: ['TCP_OFFLOAD_STATE_CACHED', 'TCP_OFFLOAD_STATE_CONST'] },
      { line: 'ndis-offload scan --', list: ['--abi', '--base', '--dtb', '--help', '--json', '--limit', '--ndis', '--physical', '--segment'] },
      { line: 'ndis-offload complete --fail 0x1=NDIS_STATUS_SUCC', buffer: 'ndis-offload complete --fail 0x1=NDIS_STATUS_SUCCESS ' },
      { line: 'ndis-offload decode capture.b', buffer: 'ndis-offload decode capture.bin ' },
    ];
    // A zsh on a pseudo-terminal, as a user has it: compinit, the script autoloaded; each line is
    // typed, then TAB; ^T writes the line as it then is to a file; the terminal shows the list;
    // ^U clears the line for the next.
    const driver = `zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PS1="%% "; fpath=(${fpath} $fpath); autoload -Uz compinit; compinit -u -D; ndis-offload() { : }; LISTMAX=0; unsetopt listambiguous promptsp; dumpbuf() { print -r -- "$BUFFER" >| ${fpath}/buffer; }; zle -N dumpbuf; bindkey "^T" dumpbuf; print RE""ADY'
zpty -r -m z out '*READY*% *'
complete_line() {
  zpty -n -w z "$1"$'\\t\\C-t\\C-uprint DO""NE\\n'
  zpty -r -m z out '*DONE*% *'
  print -r -- "$out"
  print -r -- "<<buffer>>$(<${fpath}/buffer)<<end>>"
}
${typedLines.map((t) => `complete_line ${quote(t.line)}`).join('\n')}
zpty -d z
`;
    const r = spawnSync('timeout', ['60', 'zsh', '-f', '-c', driver], { encoding: 'utf8', cwd: DIR });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // biome-ignore lint: terminal control sequences
    const screens = r.stdout.replace(/\u001b\[[0-9;?]*[A-Za-z]|\u0007|.\u0008/g, '').split('<<end>>').slice(0, -1);
    expect(screens).toHaveLength(typedLines.length);
    typedLines.forEach((t, i) => {
      const [screen, buffer] = screens[i]!.split('<<buffer>>') as [string, string];
      if (t.buffer !== undefined) expect(buffer, t.line).toBe(t.buffer);
      if (t.list !== undefined) {
        const listed = screen
          .split(/[\r\n]+/)
          .filter((l) => !/ndis-offload|print|DONE|READY|^%/.test(l))
          .flatMap((l) => l.trim().split(/\s+/))
          .filter(Boolean);
        expect(sorted(listed), t.line).toEqual(t.list);
      }
    });
  });

  it.skipIf(!zsh.run)(`registers with compdef when sourced, and completes when autoloaded from $fpath${zsh.note}`, () => {
    zsh.require();
    const sourced = spawnSync('zsh', ['-f', '-c', `compdef() { print -r -- "compdef $*"; }\n${script}`], { encoding: 'utf8' });
    expect(sourced.stdout).toBe('compdef _ndis_offload ndis-offload\n');
    const fpath = mkdtempSync(join(tmpdir(), 'ndis-zsh-'));
    writeFileSync(join(fpath, '_ndis-offload'), script);
    const autoloaded = spawnSync(
      'zsh',
      ['-f', '-c', `compadd() { shift; print -rl -- "$@"; }\nfpath=(${fpath} $fpath); autoload -Uz _ndis-offload\nwords=(ndis-offload decode --abi ''); CURRENT=4; _ndis-offload`],
      { encoding: 'utf8' },
    );
    expect(autoloaded.stderr).toBe('');
    expect(autoloaded.stdout).toBe('x64\nx86\n');
  });
});
