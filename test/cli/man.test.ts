// ndis-offload(1): the committed page is what the generator makes from the help texts now, it
// renders in groff and man without a warning, and what it shows is the help's text, character for
// character (options with real minus signs, quotes, backticks and backslashes as typed).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHelp, helpBlocks } from '../../src/cli/help-text.js';
import { EXIT } from '../../src/cli/io.js';
import { COMMANDS } from '../../src/cli/main.js';
import { MAN_PAGE, buildManPage, exitCodesFromMarkdown, manPage, roffLine } from '../../src/cli/man.js';
import { needsTool } from '../support/tools.js';

const groff = needsTool('groff', 'groff-base');
const man = needsTool('man', 'man-db');

/** The page as text: groff's plain UTF-8 output, no bold or underline. */
function render(page: string): { text: string; warnings: string } {
  const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-P-cbou', '-rLL=200n'], { input: page, encoding: 'utf8' });
  expect(r.status).toBe(0);
  return { text: r.stdout, warnings: r.stderr };
}

const lines = (text: string): string[] => text.split('\n').map((l) => l.trim());

describe('the man page', () => {
  const page = buildManPage();

  it(`${MAN_PAGE} is what the help texts make now (else: npm run man)`, () => {
    const committed = readFileSync(MAN_PAGE, 'utf8');
    expect(committed === page, `${MAN_PAGE} is stale: run 'npm run man' and commit it`).toBe(true);
    expect(JSON.parse(readFileSync('package.json', 'utf8')).man).toBe(`./${MAN_PAGE}`);
  });

  it('has the sections of a man page, every command, and the exit codes of docs/cli.md, which are EXIT', () => {
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES', 'SEE ALSO']) {
      expect(page).toContain(`\n.SH ${section}\n`);
    }
    for (const name of Object.keys(COMMANDS)) expect(page).toContain(`\n.SS ${name}\n`);
    const codes = exitCodesFromMarkdown(readFileSync('docs/cli.md', 'utf8')).map((c) => Number(c.code));
    expect(codes).toEqual([...Object.values(EXIT), 70]);
    for (const code of codes) expect(page).toContain(`.TP\n\\fB${code}\\fR\n`);
  });

  it.skipIf(!groff.run)(`renders in groff without a warning, every line of the help as typed${groff.note}`, () => {
    groff.require();
    const { text, warnings } = render(page);
    expect(warnings).toBe('');
    const shown = lines(text);
    // Options are minus signs, never a typographic hyphen (they must copy into a shell), and no word is hyphenated.
    expect(text).not.toMatch(/[\u2010\u2011\u2212]/);
    for (const [name, c] of Object.entries(COMMANDS)) {
      for (const o of parseHelp(name, c.help).options) for (const n of o.names) expect(text).toContain(n);
      // The examples and other text kept line for line are shown exactly.
      for (const b of helpBlocks(c.help)) if (b.kind === 'lines') for (const l of b.lines) expect(shown, `${name}: ${l}`).toContain(l.trim());
      // The usage lines, in SYNOPSIS and in the command's section
      for (const l of c.help.split('\n').filter((x) => x.startsWith('Usage: '))) expect(text).toContain(l.replace('Usage: ', ''));
    }
    expect(text).toContain("find it with 'ndis-offload scan'"); // a straight quote, not a typographic one
    expect(text).toContain('ffffc70a`12340000'); // the backtick as typed
  });

  it.skipIf(!man.run)(`renders with man -l${man.note}`, () => {
    man.require();
    const r = spawnSync('man', ['-l', MAN_PAGE], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100', MAN_KEEP_FORMATTING: '' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const text = r.stdout.replace(/.\u0008/g, ''); // overstrike bold and underline
    expect(text).toMatch(/^NDIS-OFFLOAD\(1\) +User Commands +NDIS-OFFLOAD\(1\)$/m);
    expect(text).toContain('ndis-offload - read and write Windows TCP chimney offload state trees byte for byte');
    expect(text).toContain('ndis-offload completion bash|zsh');
  });
});

describe('roff escapes', () => {
  const tricky = [
    '.TH a line that starts with a dot',
    "'br a line that starts with a quote",
    'a back\\slash, a \\fBfont\\fR escape and \\n(.l',
    'a `tick`, ~tilde and ^caret',
    '--option -o \u2026 \u00e9',
  ];
  const help = `Usage: ndis-offload tricky ARG

${tricky.join('\n')}

Options:
  --say 'WORD'      says .WORD and \\WORD

Examples:
${tricky.map((l) => `  ${l}`).join('\n')}`;

  it('never lets text read as a request or an escape', () => {
    expect(roffLine('.TH x')).toBe('\\&.TH x');
    expect(roffLine("'br x")).toBe('\\(aqbr x');
    expect(roffLine('a\\b')).toBe('a\\eb');
    expect(roffLine('--x')).toBe('\\-\\-x');
    expect(roffLine('\u2026')).toBe('\\[u2026]');
  });

  it.skipIf(!groff.run)(`text with a leading dot or quote, backslashes and backticks renders as written${groff.note}`, () => {
    groff.require();
    const page = manPage({ commands: { tricky: { summary: 'try the escapes', help } }, version: '1.0', description: 'Test', exitCodes: [{ code: '0', meaning: '`ok` \\| fine' }] });
    const { text, warnings } = render(page);
    expect(warnings).toBe('');
    const shown = lines(text);
    for (const l of tricky) expect(shown).toContain(l); // the Examples, line for line
    // the prose paragraph, refilled: the same words in the same order
    expect(text.replace(/\s+/g, ' ')).toContain(tricky.join(' '));
    expect(text.replace(/\s+/g, ' ')).toContain("--say 'WORD' says .WORD and \\WORD");
    expect(text.replace(/\s+/g, ' ')).toContain('0 ok | fine');
  });
});
