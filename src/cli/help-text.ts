/**
 * Reads the commands' --help texts as data: the options and arguments each command takes, and
 * the text in blocks. Shell completion and the man page are generated from this, so that the
 * help a user reads is the one source of both.
 *
 * What is read: the `Usage:` lines (up to the first blank line) and the option tables, the lines
 * indented by exactly two spaces that start with an option (`  --root HEX   what it is`,
 * `  -o, --out OUT   what it is`, `  --physical IMAGE --dtb HEX`). Options that prose mentions
 * are not options of the command (scan's "decode one with --root ADDRESS").
 */

/** What a command in the COMMANDS table is to this module. */
export interface CommandHelp {
  readonly summary: string;
  readonly help: string;
}

export interface HelpOption {
  /** `--base`; `-o` and `--out` for an option with a short form (the long one last). */
  readonly names: readonly string[];
  /**
   * The value as the help writes it: a placeholder (`HEX`, `OP`, `NAME|HEX`, `FILE@HEX`) or the
   * values it may take (`x64|x86`, several mentions merged); undefined for a flag.
   */
  readonly value?: string;
}

export interface ParsedHelp {
  /** The usage lines, `ndis-offload decode IMAGE --base HEX …`, continuation lines joined to theirs. */
  readonly usage: readonly string[];
  readonly options: readonly HelpOption[];
  /** The arguments that are no option's value, as the usage writes them: `IMAGE`, `MEMORY.DMP`, `STRUCT`, `bash|zsh`. */
  readonly positionals: readonly string[];
}

/** A placeholder lists the values it stands for: lower-case words, `|` between them (`x64|x86`, `6.0|6.1`). */
export const isEnumeration = (value: string): boolean => /^[a-z0-9][a-z0-9.]*(\|[a-z0-9][a-z0-9.]*)*$/.test(value);

interface Mention {
  names: string[];
  value?: string;
}

/**
 * Reads `--a X [--b] [--c Y] -o, --out OUT WORD` into options and the remaining words. A word
 * after an option is its value when the option's bracket is still open, or, outside brackets,
 * when the word is not itself an option.
 */
function tokens(text: string): { mentions: Mention[]; words: string[] } {
  const mentions: Mention[] = [];
  const words: string[] = [];
  const raw = text.split(/\s+/).filter(Boolean);
  const bare = (token: string): string => token.replace(/[[\]]/g, '');
  const isOption = (token: string): boolean => /^--?[A-Za-z]/.test(bare(token));
  for (let i = 0; i < raw.length; i++) {
    let token = raw[i]!;
    const word = bare(token);
    if (!word || word === '...' || word === 'options') continue;
    if (!isOption(token)) {
      words.push(word);
      continue;
    }
    // `--a-OPTION`: a placeholder for a family of options (diff's sides), not an option itself.
    if (/^--?[a-z-]*[A-Z]/.test(word)) continue;
    const names = [word.replace(/,$/, '')];
    // `-o, --out OUT`: the short form, then the long one.
    while (bare(token).endsWith(',') && i + 1 < raw.length && isOption(raw[i + 1]!)) {
      token = raw[++i]!;
      names.push(bare(token).replace(/,$/, ''));
    }
    const next = raw[i + 1];
    if (!token.endsWith(']') && next !== undefined && !next.startsWith('[') && !isOption(next) && bare(next) !== '...') {
      mentions.push({ names, value: bare(next) });
      i++;
    } else mentions.push({ names });
  }
  return { mentions, words };
}

/** Merges the mentions of one option: the values of enumerations united, else the first placeholder. */
function merge(mentions: readonly Mention[]): HelpOption[] {
  const entries: { names: string[]; values: string[] }[] = [];
  for (const m of mentions) {
    let entry = entries.find((e) => m.names.some((n) => e.names.includes(n)));
    if (!entry) {
      entry = { names: [], values: [] };
      entries.push(entry);
    }
    for (const n of m.names) if (!entry.names.includes(n)) entry.names.push(n);
    if (m.value !== undefined) entry.values.push(m.value);
  }
  return entries.map(({ names, values }) => {
    const sorted = [...names.filter((n) => !n.startsWith('--')), ...names.filter((n) => n.startsWith('--'))];
    if (!values.length) return { names: sorted };
    const enums = values.filter(isEnumeration);
    const value = enums.length ? [...new Set(enums.flatMap((e) => e.split('|')))].join('|') : values[0]!;
    return { names: sorted, value };
  });
}

/** The usage lines of a help text: `Usage:` and the lines after it up to a blank line. */
export function usageLines(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Usage:'));
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(start)) {
    if (!line.trim()) break;
    const text = line.replace(/^Usage:\s*/, '').trim();
    if (text.startsWith('ndis-offload') || !out.length) out.push(text);
    else out[out.length - 1] += ` ${text}`;
  }
  return out;
}

/** A line of an option table: two spaces, an option, then its description after two or more spaces. */
const OPTION_LINE = /^ {2}(-[A-Za-z0-9], --[A-Za-z]|--[A-Za-z])/;

export function parseHelp(name: string, help: string): ParsedHelp {
  const usage = usageLines(help);
  const mentions: Mention[] = [];
  const positionals: string[] = [];
  for (const line of usage) {
    const { mentions: m, words } = tokens(line.replace(new RegExp(`^ndis-offload\\s+${name}\\b`), ''));
    mentions.push(...m);
    for (const w of words) if (!positionals.includes(w)) positionals.push(w);
  }
  // The tables say which options take a value; what they say comes first.
  const table: Mention[] = [];
  for (const line of help.split('\n')) {
    if (OPTION_LINE.test(line)) table.push(...tokens(line.slice(2).split(/ {2,}/)[0]!).mentions);
  }
  const flags = new Set(table.filter((m) => m.value === undefined).flatMap((m) => m.names));
  const usageMentions = mentions.map((m) => (m.names.some((n) => flags.has(n)) ? { names: m.names } : m));
  // A word the usage took for a flag's value is an argument.
  for (const [i, m] of mentions.entries()) {
    if (m.value !== undefined && usageMentions[i]!.value === undefined && !positionals.includes(m.value)) positionals.push(m.value);
  }
  return { usage, options: merge([...table, ...usageMentions]), positionals };
}

/** One of a help text's blocks, for typesetting: prose, a table of terms, or lines kept as they are. */
export type HelpBlock =
  | { kind: 'heading'; text: string }
  | { kind: 'prose'; text: string }
  | { kind: 'terms'; items: { term: string; text: string }[] }
  | { kind: 'lines'; lines: string[] };

/**
 * The help text after its usage, in blocks: a line ending in `:` alone is a heading (`Options:`);
 * a run of lines with an option table's shape (a term indented two spaces, its text after two
 * or more, continued by deeper lines) is a table of terms; `Examples:` and other indented text
 * are kept line for line; anything else is prose.
 */
export function helpBlocks(help: string): HelpBlock[] {
  const lines = help.split('\n');
  let i = lines.findIndex((l) => l.startsWith('Usage:'));
  while (i >= 0 && i < lines.length && lines[i]!.trim()) i++; // past the usage
  if (i < 0) i = 0;
  const blocks: HelpBlock[] = [];
  let heading = '';
  while (i < lines.length) {
    if (!lines[i]!.trim()) {
      i++;
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i]!.trim()) para.push(lines[i++]!);
    // "Structures: A, B, C": a heading with its text on the same line.
    const inline = /^([A-Z][A-Za-z ]+):\s+(\S.*)$/.exec(para[0]!);
    if (para.length === 1 && inline && !/^ /.test(para[0]!)) {
      blocks.push({ kind: 'heading', text: inline[1]! }, { kind: 'prose', text: inline[2]! });
      continue;
    }
    if (/^[A-Z][A-Za-z ]*:$/.test(para[0]!)) {
      heading = para.shift()!.slice(0, -1);
      blocks.push({ kind: 'heading', text: heading });
      if (!para.length) continue;
    }
    const terms = asTerms(para);
    if (terms && heading !== 'Examples') blocks.push({ kind: 'terms', items: terms });
    else if (para.every((l) => !/^\s/.test(l))) blocks.push({ kind: 'prose', text: para.map((l) => l.trim()).join(' ') });
    else blocks.push({ kind: 'lines', lines: para });
  }
  return blocks;
}

/** Lines as a table of terms, or undefined when they do not have its shape. */
function asTerms(para: readonly string[]): { term: string; text: string }[] | undefined {
  const items: { term: string; text: string }[] = [];
  let column = -1;
  for (const line of para) {
    const head = /^ {2}(\S(?:\S| (?! ))*)(?: {2,}(\S.*))?$/.exec(line);
    if (head) {
      items.push({ term: head[1]!, text: head[2] ?? '' });
      if (head[2] !== undefined) column = line.length - head[2].length;
      continue;
    }
    // a continuation: deeper than a term, at the text's column
    const indent = /^ */.exec(line)![0].length;
    if (!items.length || indent <= 2 || (column >= 0 && indent !== column)) return undefined;
    const last = items[items.length - 1]!;
    last.text = last.text ? `${last.text} ${line.trim()}` : line.trim();
  }
  return items.length ? items : undefined;
}
