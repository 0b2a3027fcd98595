/** Regenerates every fixtures/*.bin from the JSON description beside it. `npm run fixtures`. */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { encodeTree, type EncodeInput } from '../src/tree/encode.js';

export function fixtureBytes(jsonPath: string): Uint8Array {
  return encodeTree(JSON.parse(readFileSync(jsonPath, 'utf8')) as EncodeInput).bytes;
}

export const fixtureNames = (): string[] => readdirSync('fixtures').filter((f) => f.endsWith('.json')).sort();

if (process.argv[1]?.endsWith('fixtures.ts')) {
  for (const name of fixtureNames()) {
    const out = `fixtures/${name.replace(/\.json$/, '.bin')}`;
    const bytes = fixtureBytes(`fixtures/${name}`);
    writeFileSync(out, bytes);
    console.log(`${out}: ${bytes.length} bytes`);
  }
}
