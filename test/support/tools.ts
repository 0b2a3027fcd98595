// External tools some checks run (bash, zsh, groff, man). A check whose tool is missing fails,
// naming the package to install, unless skipping it was asked for by name; then it is skipped
// with a title and a warning that say it was NOT checked. It never passes unchecked.
import { spawnSync } from 'node:child_process';

export const hasTool = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

export interface ToolCheck {
  /** Run the check (the tool is there, or it is missing and must fail for that). */
  readonly run: boolean;
  /** ' [NOT CHECKED: … is not installed]' for a skipped check's title, else ''. */
  readonly note: string;
  /** Throws, naming the package, when the tool is missing: call first in the check. */
  require(): void;
}

export function needsTool(tool: string, pkg = tool): ToolCheck {
  const env = `NDIS_OFFLOAD_SKIP_${tool.toUpperCase()}`;
  const present = hasTool(tool);
  const skip = !present && process.env[env] === '1';
  if (skip) console.warn(`\n*** ${tool} is not installed: the checks that need it were NOT run (${env}=1) ***\n`);
  return {
    run: !skip,
    note: skip ? ` [NOT CHECKED: ${tool} is not installed]` : '',
    require() {
      if (!present) throw new Error(`${tool} is not installed (apt-get install ${pkg}); set ${env}=1 to skip this check knowingly`);
    },
  };
}
