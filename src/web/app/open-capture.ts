/**
 * Opening what was picked, dropped or served, for the page's capture (A) and the diff's (B)
 * alike: a .vmem goes with its state file, the file's bytes say what it is, and when they say
 * nothing the user does (a region's base and ABI, or a raw image), remembered per file name.
 */
import type { CaptureSummary, FileSource, RegionSettings } from '../protocol.js';
import type { Client } from './client.js';
import { askRegionSettings } from './dialogs.js';

export const nameOf = (s: FileSource): string => (s.kind === 'file' ? s.file.name : s.name);

const SETTINGS_KEY = (name: string): string => `ndis-offload:settings:${name}`;

/** The settings last given for a file of this name, if any (only these small settings are kept, never a capture). */
export function remembered(name: string): RegionSettings | undefined {
  try {
    const text = localStorage.getItem(SETTINGS_KEY(name));
    return text ? (JSON.parse(text) as RegionSettings) : undefined;
  } catch {
    return undefined;
  }
}

function remember(name: string, s: RegionSettings): void {
  try {
    localStorage.setItem(SETTINGS_KEY(name), JSON.stringify(s));
  } catch {
    // Storage may be off (file:// in some browsers): the settings are asked again next time.
  }
}

/**
 * Opens the capture the sources name in the Worker; undefined when the user cancelled the
 * question. `say` is told what is being opened; `progress` follows DTB discovery.
 */
export async function openCapture(
  client: Client,
  sources: FileSource[],
  given: { settings?: RegionSettings },
  say: (text: string) => void,
  progress: (done: number, total: number, what: string) => void,
): Promise<CaptureSummary | undefined> {
  const state = sources.find((s) => /\.vms[sn]$/i.test(nameOf(s)));
  const memory = sources.find((s) => s !== state) ?? state!;
  const sibling = memory !== state ? state : undefined;
  const probe = await client.call('probe', { source: memory, ...(sibling ? { sibling } : {}) });
  let settings = given.settings;
  if (probe.needsSettings && !settings) {
    settings = await askRegionSettings(nameOf(memory), remembered(nameOf(memory)));
    if (!settings) return undefined;
    remember(nameOf(memory), settings);
  }
  say(`opening ${nameOf(memory)}…`);
  return client.call('open', { source: memory, ...(sibling ? { sibling } : {}), ...(settings ? { settings } : {}) }, progress);
}
