// The fixture corpus read by C: one program per ABI and revision, with every fixture's bytes
// compiled in, walks each tree through the C declarations (pointers translated against the
// fixture's base) and prints what it sees; the decoder must see the same.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SegmentImage, decodeTree, layoutOf, type BlockJson } from '../../src/index.js';
import { abiByName } from '../../src/layout/abi.js';
import { cDeclarations } from '../../src/layout/c-decl.js';
import type { NdisRevision } from '../../src/layout/descriptor.js';
import { compileAndRun, gate } from '../support/cc.js';
import { decodeOptionsOf, fixtureNames, readDescription } from '../../scripts/fixtures.js';

const groups = new Map<string, string[]>();
for (const name of fixtureNames()) {
  const d = readDescription(name);
  const key = `${d.abi ?? 'x64'}/${d.ndis ?? '6.1'}`;
  groups.set(key, [...(groups.get(key) ?? []), name]);
}

function program(abiName: string, ndis: NdisRevision, names: string[]): string {
  const abi = abiByName(abiName);
  const blockSize = layoutOf('NDIS_MINIPORT_OFFLOAD_BLOCK_LIST', abi, ndis).size;
  const arrays = names.map((n, i) => {
    const bytes = readFileSync(`fixtures/${n}.bin`);
    return `static const unsigned char img${i}[${bytes.length}] = {${Array.from(bytes).join(',')}};`;
  });
  const calls = names.map((n, i) => {
    const base = BigInt(readDescription(n).base!);
    return `  walk("${n}", img${i}, sizeof img${i}, 0x${base.toString(16)}ULL);`;
  });
  return `#include <stdint.h>
#include <stdio.h>
#include <string.h>
${cDeclarations(abi, ndis)}
_Static_assert(sizeof(struct NDIS_MINIPORT_OFFLOAD_BLOCK_LIST) == ${blockSize}, "block size");
typedef struct NDIS_MINIPORT_OFFLOAD_BLOCK_LIST B;
static const unsigned char *img; static uint64_t len, base;
static const void *at(uint64_t p, uint64_t n) { return p >= base && p - base + n <= len ? img + (p - base) : 0; }
#define PTR(x) ((uint64_t)(uintptr_t)(x))
static struct { uint64_t p; int layer; char path[160]; } stack[4096];
static uint64_t seen[4096]; static int nseen;
static void walk(const char *name, const unsigned char *bytes, uint64_t n, uint64_t b) {
  img = bytes; len = n; base = b; nseen = 0;
  int sp = 0; stack[sp].p = b; stack[sp].layer = 0; strcpy(stack[sp++].path, "blocks[0]");
  while (sp > 0) {
    sp--; uint64_t p = stack[sp].p; int layer = stack[sp].layer; char path[160]; strcpy(path, stack[sp].path);
    int dup = 0; for (int i = 0; i < nseen; i++) if (seen[i] == p) dup = 1;
    const B *blk = (const B *)at(p, sizeof(B));
    if (dup || !blk || (p & (_Alignof(B) - 1))) continue;
    seen[nseen++] = p;
    const char *role = "placeholder";
    if (blk->MiniportOffloadContext) {
      const void *const *cell = (const void *const *)at(PTR(blk->MiniportOffloadContext), sizeof(void *));
      role = !cell ? "?" : *cell ? "linker" : "new-offload";
    }
    const struct OFFLOAD_STATE_HEADER *h = (const struct OFFLOAD_STATE_HEADER *)at(p + sizeof(B), sizeof(struct OFFLOAD_STATE_HEADER));
    printf("%s %s %d %u %u %08x %s %u\\n", name, path, layer, blk->Header.Type, blk->Header.Size, (uint32_t)blk->Status, role, h ? h->Length : 0u);
    /* the next sibling's path: same list, index + 1 */
    if (blk->NextBlock && sp < 4090) {
      char *open = strrchr(path, '['); int idx = 0; sscanf(open, "[%d]", &idx);
      stack[sp].p = PTR(blk->NextBlock); stack[sp].layer = layer;
      snprintf(stack[sp].path, 160, "%.*s[%d]", (int)(open - path), path, idx + 1); sp++;
    }
    if (blk->DependentBlockList && layer < 2 && sp < 4090) {
      stack[sp].p = PTR(blk->DependentBlockList); stack[sp].layer = layer + 1;
      snprintf(stack[sp].path, 160, "%s.dependents[0]", path); sp++;
    }
  }
}
${arrays.join('\n')}
int main(void) {
${calls.join('\n')}
  return 0;
}
`;
}

for (const [key, names] of groups) {
  const [abiName, ndis] = key.split('/') as [string, NdisRevision];
  const g = gate(abiName as 'x64' | 'x86', 'run');
  describe.skipIf(g.skip)(`fixtures read by C, ${key}${g.note}`, () => {
    it(`every block of ${names.length} fixtures: path, layer, Type, Size, Status, role, state Length`, () => {
      const out = compileAndRun(program(abiName, ndis, names), { abi: abiName as 'x64' | 'x86' });
      const seenByC = new Set(out.trim().split('\n'));
      let compared = 0;
      for (const name of names) {
        const d = readDescription(name);
        const bytes = new Uint8Array(readFileSync(`fixtures/${name}.bin`));
        const doc = decodeTree(SegmentImage.region(bytes, BigInt(d.base!)), BigInt(d.base!), decodeOptionsOf(d));
        const stack: [BlockJson, string, number][] = doc.blocks.map((b, i) => [b, `blocks[${i}]`, 0]);
        while (stack.length) {
          const [b, path, layer] = stack.pop()!;
          b.dependents.forEach((x, i) => stack.push([x, `${path}.dependents[${i}]`, layer + 1]));
          if (BigInt(b.address) % BigInt(abiName === 'x64' ? 8 : 4) !== 0n) continue; // C skips misaligned blocks
          const role = b['*MiniportOffloadContext'] === undefined && b.role !== 'placeholder' ? '?' : b.role;
          const length = b.state ? (Object.values(b.state)[0]!.Header as { Length: number }).Length : undefined;
          const line = `${name} ${path} ${layer} ${b.Header.Type} ${b.Header.Size} ${b.Status.hex.slice(2)} ${role}`;
          const match = [...seenByC].find((l) => l.startsWith(`${line} `));
          expect(match, `C did not see ${line}`).toBeDefined();
          if (length !== undefined) expect(match!.endsWith(` ${length}`), `${line}: state Length`).toBe(true);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(names.length);
    });
  });
}
