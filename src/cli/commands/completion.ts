/**
 * `ndis-offload completion bash|zsh`: a script that completes the commands, their options, the
 * values of options that take one of a fixed set, and file names elsewhere. Everything it knows
 * comes from the commands' --help texts (src/cli/help-text.ts), so an option documented is an
 * option completed, and nothing else is.
 */
import { UsageError } from '../../errors.js';
import { NDIS_STATUS_VALUES, OPERATIONS } from '../../layout/constants.js';
import { STRUCTS } from '../../layout/registry.js';
import { didYouMean } from '../../suggest.js';
import { type CommandHelp, isEnumeration, parseHelp } from '../help-text.js';
import { EXIT, type Io, parseOptions } from '../io.js';

export const COMPLETION_HELP = `Usage: ndis-offload completion bash|zsh

Prints a script for the shell that completes ndis-offload's commands, each command's options,
the values of the options that take one of a fixed set (--abi, --ndis, --operation, --format,
--status and the status after --fail ADDRESS=), structure names for layout, and file names
elsewhere. The script is generated from the commands' --help texts.

To load it in every new shell:
  bash    add 'source <(ndis-offload completion bash)' to ~/.bashrc, or save the script as
          ~/.local/share/bash-completion/completions/ndis-offload
  zsh     save the script as _ndis-offload in a folder of $fpath (before compinit runs), or
          add 'source <(ndis-offload completion zsh)' to ~/.zshrc after compinit

Examples:
  ndis-offload completion bash
  ndis-offload completion zsh`;

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** What may follow an option, or stand as an argument. */
export type Values =
  | { readonly kind: 'words'; readonly words: readonly string[] }
  | { readonly kind: 'files' }
  /** `ADDRESS=NAME`: nothing for the address, status names after the `=`. */
  | { readonly kind: 'address=status' }
  /** A value nobody can guess (an address, a number): nothing is offered. */
  | { readonly kind: 'none' };

export interface CompletedOption {
  readonly names: readonly string[];
  /** undefined: a flag. */
  readonly values?: Values;
}

export interface CompletedCommand {
  readonly name: string;
  readonly options: readonly CompletedOption[];
  /** What the command's arguments are (files for most; structure names for layout). */
  readonly args: Values;
}

export interface CompletionSpec {
  /** The first word: the commands, `help`, `--help`, `--version`. */
  readonly first: readonly string[];
  readonly commands: readonly CompletedCommand[];
}

const STATUS_NAMES = Object.keys(NDIS_STATUS_VALUES);
const NONE: Values = { kind: 'none' };
const FILES: Values = { kind: 'files' };

/** Placeholders that are no file; any other is one (IMAGE, MEMORY.DMP, OUT, CAPTURE, FILE@HEX, TREE.json, A, B). */
const NOT_FILES = new Set(['HEX', 'N', 'ADDRESS', 'F']);

/** What a placeholder of the help texts stands for. */
export function valuesOf(placeholder: string, commands: readonly string[]): Values {
  if (isEnumeration(placeholder)) return { kind: 'words', words: placeholder.split('|') };
  if (placeholder.startsWith('ADDRESS=')) return { kind: 'address=status' };
  const words: string[] = [];
  let files = false;
  for (const part of placeholder.split('|')) {
    if (part === 'OP') words.push(...OPERATIONS);
    else if (part === 'NAME') words.push(...STATUS_NAMES);
    else if (part === 'STRUCT') words.push(...STRUCTS.map((s) => s.name));
    else if (part === 'COMMAND') words.push(...commands);
    else if (!NOT_FILES.has(part)) files = true;
  }
  if (files) return FILES;
  return words.length ? { kind: 'words', words } : NONE;
}

/** Completion, as the help texts describe the commands. */
export function completionSpec(commands: Readonly<Record<string, CommandHelp>>): CompletionSpec {
  const names = Object.keys(commands);
  const out: CompletedCommand[] = Object.entries(commands).map(([name, c]) => {
    const parsed = parseHelp(name, c.help);
    const options: CompletedOption[] = parsed.options.map((o) => (o.value === undefined ? { names: o.names } : { names: o.names, values: valuesOf(o.value, names) }));
    if (!options.some((o) => o.names.includes('--help'))) options.push({ names: ['--help'] });
    const args = parsed.positionals.map((p) => valuesOf(p, names));
    const words = args.flatMap((a) => (a.kind === 'words' ? a.words : []));
    return { name, options, args: args.some((a) => a.kind === 'files') ? FILES : words.length ? { kind: 'words', words } : NONE };
  });
  // `ndis-offload help COMMAND` (main takes `help` as --help)
  out.push({ name: 'help', options: [], args: { kind: 'words', words: names } });
  return { first: [...names, 'help', '--help', '--version'], commands: out };
}

/** Every word a script holds is one of these characters: nothing in it needs quoting. */
function safe(words: readonly string[]): string {
  for (const w of words) if (!/^[A-Za-z0-9_.@=+-]+$/.test(w)) throw new Error(`completion: '${w}' would need quoting in a shell script`);
  return words.join(' ');
}

const longNames = (o: CompletedOption): string => safe(o.names).replace(/ /g, '|');

function bashValues(v: Values): string {
  switch (v.kind) {
    case 'words':
      return `_ndis_offload_words "$pre" "${v.words.join(' ') === STATUS_NAMES.join(' ') ? '$_ndis_offload_statuses' : safe(v.words)}"`;
    case 'files':
      return '_ndis_offload_files "$pre"';
    case 'address=status':
      return '_ndis_offload_address_status';
    case 'none':
      return ':';
  }
}

export function bashScript(spec: CompletionSpec): string {
  const cases = spec.commands.map((c) => {
    const valued = c.options.filter((o) => o.values !== undefined);
    const optionCases = valued.map((o) => `        ${longNames(o)}) ${bashValues(o.values!)}; return 0 ;;`);
    const addressStatus = valued.filter((o) => o.values!.kind === 'address=status').flatMap((o) => o.names);
    const options = safe(c.options.flatMap((o) => o.names));
    const args =
      c.args.kind === 'files'
        ? '_ndis_offload_files ""'
        : c.args.kind === 'words'
          ? `_ndis_offload_words "" "${safe(c.args.words)}"`
          : `_ndis_offload_words "" "${options}"`;
    return [
      `    ${safe([c.name])})`,
      ...(optionCases.length ? ['      case "$opt" in', ...optionCases, '      esac'] : []),
      // `--fail ADDRESS=NAME`, the '=' a word of its own
      ...(addressStatus.length
        ? [`      if [[ "$opt" != -* ]] && { ${addressStatus.map((n) => `[[ "$before" == ${safe([n])} ]]`).join(' || ')}; }; then _ndis_offload_words "" "$_ndis_offload_statuses"; return 0; fi`]
        : []),
      `      if [[ "$cur" == -* ]]; then _ndis_offload_words "" "${options}"; else ${args}; fi`,
      '      ;;',
    ].join('\n');
  });
  return `# bash completion for ndis-offload, generated from its --help texts by 'ndis-offload completion bash'.
# Load it with: source <(ndis-offload completion bash)

_ndis_offload_statuses="${safe(STATUS_NAMES)}"

# Sets COMPREPLY to the words of $2 that start with $cur, each after the prefix $1.
_ndis_offload_words() {
  local IFS=$'\\n'
  COMPREPLY=($(IFS=' '; compgen -P "$1" -W "$2" -- "$cur"))
}

# Sets COMPREPLY to the files and folders that start with $cur, each after the prefix $1.
_ndis_offload_files() {
  compopt -o filenames 2>/dev/null
  local IFS=$'\\n'
  COMPREPLY=($(compgen -P "$1" -f -- "$cur"))
}

# ADDRESS=NAME in one word (no '=' in COMP_WORDBREAKS): the status names after the '='.
_ndis_offload_address_status() {
  if [[ "$cur" == *=* ]]; then
    local at="\${cur%%=*}="
    cur="\${cur#*=}"
    _ndis_offload_words "$pre$at" "$_ndis_offload_statuses"
  fi
}

_ndis_offload() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" opt="" before="" pre=""
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if (( COMP_CWORD <= 1 )); then
    _ndis_offload_words "" "${safe(spec.first)}"
    return 0
  fi
  # The option whose value is being typed: the word before, or, for --option=value, the word
  # before the '=' (bash makes '=' a word of its own when it is in COMP_WORDBREAKS, the default).
  if [[ "$cur" == "=" ]]; then
    opt="$prev"; cur=""; before="\${COMP_WORDS[COMP_CWORD-2]}"
  elif [[ "$prev" == "=" ]]; then
    opt="\${COMP_WORDS[COMP_CWORD-2]}"; before="\${COMP_WORDS[COMP_CWORD-3]}"
  elif [[ "$cur" == --*=* ]]; then
    opt="\${cur%%=*}"; pre="$opt="; cur="\${cur#*=}"
  else
    opt="$prev"
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  return 0
}

complete -F _ndis_offload ndis-offload
`;
}

function zshValues(v: Values): string {
  switch (v.kind) {
    case 'words':
      return `compadd -- ${v.words.join(' ') === STATUS_NAMES.join(' ') ? '$_ndis_offload_statuses' : safe(v.words)}`;
    case 'files':
      return '_files';
    case 'address=status':
      return `[[ $cur == *=* ]] && compset -P '*=' && compadd -- $_ndis_offload_statuses`;
    case 'none':
      return ':';
  }
}

export function zshScript(spec: CompletionSpec): string {
  const cases = spec.commands.map((c) => {
    const optionCases = c.options.filter((o) => o.values !== undefined).map((o) => `        ${longNames(o)}) ${zshValues(o.values!)}; return ;;`);
    const options = safe(c.options.flatMap((o) => o.names));
    const args = c.args.kind === 'files' ? '_files' : c.args.kind === 'words' ? `compadd -- ${safe(c.args.words)}` : `compadd -- ${options}`;
    return [
      `    ${safe([c.name])})`,
      ...(optionCases.length ? ['      case $opt in', ...optionCases, '      esac'] : []),
      `      if [[ $cur == -* ]]; then compadd -- ${options}; else ${args}; fi`,
      '      ;;',
    ].join('\n');
  });
  return `#compdef ndis-offload
# zsh completion for ndis-offload, generated from its --help texts by 'ndis-offload completion zsh'.
# Save it as _ndis-offload in a folder of $fpath, or: source <(ndis-offload completion zsh)

_ndis_offload_statuses=(${safe(STATUS_NAMES)})

_ndis_offload() {
  local cur=\${words[CURRENT]} opt=\${words[CURRENT-1]}
  if (( CURRENT <= 2 )); then
    compadd -- ${safe(spec.first)}
    return
  fi
  # --option=value: the option is the part before the '=', the value is completed after it
  if [[ $cur == --*=* ]]; then
    opt=\${cur%%=*}
    cur=\${cur#*=}
    compset -P "$opt="
  fi
  case \${words[2]} in
${cases.join('\n')}
  esac
}

if [[ \${funcstack[1]} == _ndis-offload ]]; then
  _ndis_offload "$@"
else
  compdef _ndis_offload ndis-offload
fi
`;
}

export function runCompletion(argv: string[], io: Io, commands: Readonly<Record<string, CommandHelp>>): number {
  const { positionals } = parseOptions(argv, {});
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length ? `completion takes one shell, got ${positionals.length} arguments` : `completion: which shell? ${SHELLS.join(' or ')}`);
  }
  const shell = positionals[0]!;
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(`completion: unknown shell '${shell}'${didYouMean(shell, SHELLS)}; completion is written for ${SHELLS.join(' and ')}`);
  }
  const spec = completionSpec(commands);
  io.out(shell === 'bash' ? bashScript(spec) : zshScript(spec));
  return EXIT.OK;
}
