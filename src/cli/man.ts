/**
 * ndis-offload(1), generated from the commands' --help texts (src/cli/help-text.ts reads them),
 * the exit codes of docs/cli.md, and the package's description and version. `npm run man`
 * writes docs/ndis-offload.1 (package.json "man"); a test requires the committed page to be what
 * this makes now, and to render without a warning.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CommandHelp, type HelpBlock, helpBlocks, usageLines } from './help-text.js';
import { COMMANDS } from './main.js';

export interface ManInput {
  readonly commands: Readonly<Record<string, CommandHelp>>;
  readonly version: string;
  /** One line: what the program does (package.json "description"). */
  readonly description: string;
  readonly exitCodes: readonly { code: string; meaning: string }[];
}

/** Where the page lives in the package. */
export const MAN_PAGE = 'docs/ndis-offload.1';

/**
 * Text for a roff text line: the backslash, the minus (a '-' is a hyphen to groff, and options
 * must copy as minus signs), quotes and the characters groff would typeset as other glyphs
 * spelled as escapes; other non-ASCII as Unicode escapes.
 */
export function roffEscape(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\e';
    else if (ch === '-') out += '\\-';
    else if (ch === "'") out += '\\(aq';
    else if (ch === '`') out += '\\(ga';
    else if (ch === '~') out += '\\(ti';
    else if (ch === '^') out += '\\(ha';
    else if (code < 0x20 && ch !== '\t') out += `\\[u${code.toString(16).toUpperCase().padStart(4, '0')}]`;
    else if (code > 0x7e) out += `\\[u${code.toString(16).toUpperCase().padStart(4, '0')}]`;
    else out += ch;
  }
  return out;
}

/** A text line: escaped, and never read as a request (a leading '.'; a leading "'" is already \(aq). */
export function roffLine(text: string): string {
  const line = roffEscape(text);
  return /^[.']/.test(line) ? `\\&${line}` : line;
}

/** Prose as text lines of at most `width` characters (roff fills them again). */
function wrap(text: string, width = 78): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map(roffLine);
}

/** `--root HEX`, `-o, --out OUT`: options bold, their placeholders italic. */
function term(text: string): string {
  return text
    .split(' ')
    .map((w) => (/^-/.test(w) ? `\\fB${roffEscape(w)}\\fR` : w === '...' ? roffEscape(w) : `\\fI${roffEscape(w)}\\fR`))
    .join(' ');
}

/** Markdown of a docs table cell as roff text: `code` bold, links as their text, `\|` as `|`. */
function markdown(text: string): string {
  const plain = text.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').replace(/\\\|/g, '|');
  return plain
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') && part.endsWith('`') && part.length > 1 ? `\\fB${roffEscape(part.slice(1, -1))}\\fR` : roffEscape(part)))
    .join('');
}

/** The rows of the table under `## Exit codes` in docs/cli.md. */
export function exitCodesFromMarkdown(md: string): { code: string; meaning: string }[] {
  const section = md.split(/^## /m).find((s) => s.startsWith('Exit codes'));
  if (!section) throw new Error('docs/cli.md has no "## Exit codes" section');
  const rows: { code: string; meaning: string }[] = [];
  for (const line of section.split('\n')) {
    const m = /^\|\s*(\d+)\s*\|\s*(.*?)\s*\|\s*$/.exec(line);
    if (m) rows.push({ code: m[1]!, meaning: m[2]! });
  }
  return rows;
}

function block(b: HelpBlock): string[] {
  switch (b.kind) {
    case 'heading':
      return ['.PP', `\\fB${roffEscape(b.text)}\\fR`];
    case 'prose':
      return ['.PP', ...wrap(b.text)];
    case 'terms':
      return b.items.flatMap((i) => ['.TP', term(i.term), ...wrap(i.text)]);
    case 'lines': {
      const indent = Math.min(...b.lines.map((l) => /^ */.exec(l)![0].length));
      return ['.PP', '.RS 4', '.nf', ...b.lines.map((l) => roffLine(l.slice(indent))), '.fi', '.RE'];
    }
  }
}

/** The lines of a help text's Examples block. */
function examples(help: string): string[] {
  const blocks = helpBlocks(help);
  const at = blocks.findIndex((b) => b.kind === 'heading' && b.text === 'Examples');
  const next = blocks[at + 1];
  return at >= 0 && next?.kind === 'lines' ? next.lines.map((l) => l.trim()) : [];
}

export function manPage({ commands, version, description, exitCodes }: ManInput): string {
  const out: string[] = [
    ".\\\" Generated from the commands' --help texts by src/cli/man.ts: do not edit; run 'npm run man'.",
    `.TH NDIS\\-OFFLOAD 1 "" "ndis\\-offload ${roffEscape(version)}" "User Commands"`,
    '.nh',
    '.SH NAME',
    `ndis\\-offload \\- ${roffEscape(description.replace(/\s*\([^)]*\)/, '').replace(/^Read/, 'read'))}`,
    '.SH SYNOPSIS',
    '.nf',
    '\\fBndis\\-offload\\fR \\fICOMMAND\\fR [\\fIARGS\\fR]',
    '\\fBndis\\-offload\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR',
    '\\fBndis\\-offload \\-\\-version\\fR',
    '.fi',
    '.PP',
    '.nf',
    ...Object.keys(commands).flatMap((name) => usageLines(commands[name]!.help).map(roffLine)),
    '.fi',
    '.SH DESCRIPTION',
    ...wrap(`${description}.`),
    '.PP',
    ...wrap(
      "Each command below is described as its --help prints it. Addresses are hexadecimal, with or without 0x; windbg's backtick (ffffc70a`12340000) is accepted. Errors are one line on standard error, naming the argument, offset, address or path in the tree at fault.",
    ),
    '.SH COMMANDS',
  ];
  for (const [name, c] of Object.entries(commands)) {
    out.push(`.SS ${name}`, ...wrap(`${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`), '.PP', '.nf', ...usageLines(c.help).map(roffLine), '.fi');
    out.push(...helpBlocks(c.help).flatMap(block));
  }
  out.push('.SH EXIT STATUS');
  for (const { code, meaning } of exitCodes) out.push('.TP', `\\fB${code}\\fR`, markdown(meaning));
  out.push(
    '.SH ENVIRONMENT',
    '.TP',
    '\\fBNO_COLOR\\fR',
    ...wrap('Set to any value: no colour, even on a terminal.'),
    '.TP',
    '\\fBTERM\\fR',
    ...wrap('dumb: no colour. Colour is used only when standard output is a terminal.'),
    '.SH FILES',
    ...wrap(
      'Output files are written atomically: to a temporary file .NAME.PID.TIME.tmp in the folder of the output, flushed, then renamed over it. On any error nothing is left half-written, and an input is rewritten only by complete without -o.',
    ),
    '.SH EXAMPLES',
    '.nf',
  );
  const shown = Object.values(commands)
    .map((c) => examples(c.help)[0])
    .filter((e): e is string => e !== undefined && !e.endsWith('\\'));
  out.push(...shown.map(roffLine), '.fi', '.SH SEE ALSO');
  out.push(...wrap("The package's docs folder: cli.md (the commands), json-format.md, crash-dumps.md, tree-rules.md, export.md, layout.md, api.md."));
  return `${out.join('\n')}\n`;
}

/** The page as the package makes it: from COMMANDS, package.json and docs/cli.md under `root`. */
export function buildManPage(root = '.'): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; description: string };
  return manPage({
    commands: COMMANDS,
    version: pkg.version,
    description: pkg.description,
    exitCodes: exitCodesFromMarkdown(readFileSync(join(root, 'docs/cli.md'), 'utf8')),
  });
}
