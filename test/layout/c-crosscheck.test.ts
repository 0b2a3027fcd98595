/**
 * The layout engine against the C compiler: for each ABI and NDIS revision, one C program built
 * from the descriptors (c-decl.ts) tells where gcc -mms-bitfields puts every structure and member;
 * every engine layout, and the `layout --json` output, must say the same.
 */
import { describe, expect, it } from 'vitest';
import { ABIS, X64, type Abi } from '../../src/layout/abi.js';
import { cDeclarations } from '../../src/layout/c-decl.js';
import { layoutToJson } from '../../src/layout/describe.js';
import { NDIS_REVISIONS, type NdisRevision } from '../../src/layout/descriptor.js';
import { layoutOf, STRUCTS } from '../../src/layout/registry.js';
import { gate } from '../support/cc.js';
import {
  checkableJson,
  compareLayout,
  compilerJson,
  compilerLayouts,
  flattenFields,
  type CompilerStruct,
} from '../support/layout-probe.js';

/** One compile per ABI and revision, shared by the tests below (run on first use, so a failure shows in each). */
function probeOnce(abi: Abi, ndis: NdisRevision): () => Map<string, CompilerStruct> {
  let result: Map<string, CompilerStruct> | undefined;
  return () => (result ??= compilerLayouts(STRUCTS, abi, ndis));
}

const compilerSays = (probe: Map<string, CompilerStruct>, name: string): CompilerStruct => {
  const c = probe.get(name);
  if (!c) throw new Error(`the probe has no answer for ${name}`);
  return c;
};

for (const abi of ABIS) {
  const { skip, note } = gate(abi);
  for (const ndis of NDIS_REVISIONS) {
    describe.skipIf(skip)(`${abi.name}, NDIS ${ndis}: the engine agrees with gcc -mms-bitfields${note}`, () => {
      const probe = probeOnce(abi, ndis);

      it.each(STRUCTS.map((s) => s.name))('%s: size, alignment and every member', (name) => {
        const { mismatches } = compareLayout(layoutOf(name, abi, ndis), compilerSays(probe(), name));
        expect(mismatches).toEqual([]);
      });

      // Every member the engine places is compared, and the compiler knows no other.
      const total = STRUCTS.reduce((n, s) => n + flattenFields(layoutOf(s.name, abi, ndis).fields).length, 0);
      it(`all ${total} members are compared`, () => {
        let compared = 0;
        let compilerMembers = 0;
        for (const s of STRUCTS) {
          const c = compilerSays(probe(), s.name);
          compared += compareLayout(layoutOf(s.name, abi, ndis), c).compared;
          compilerMembers += c.members.length;
        }
        expect(compared).toBe(total);
        expect(compilerMembers).toBe(total);
      });

      it.each(STRUCTS.map((s) => s.name))('layout --json %s says what the compiler says', (name) => {
        const json = layoutToJson(layoutOf(name, abi, ndis));
        expect(checkableJson(json)).toEqual(compilerJson(compilerSays(probe(), name), abi, ndis));
      });
    });
  }

  // The probe reads the compiled object file; a running program must see the same bytes.
  const run = gate(abi, 'run');
  const title = `${abi.name}: the running probe (memset, then each bit-field set) agrees with the object file`;
  it.skipIf(run.skip)(`${title}${run.note}`, () => {
    expect(compilerLayouts(STRUCTS, abi, '6.1', 'run')).toEqual(compilerLayouts(STRUCTS, abi, '6.1', 'extract'));
  });
}

describe('the cross-check can fail', () => {
  // Guards against a comparison that passes vacuously: a wrong or missing member must be reported.
  const probe = probeOnce(X64, '6.1');
  const real = layoutOf('TCP_OFFLOAD_STATE_DELEGATED', X64, '6.1');

  it('reports a member at the wrong offset, a wrong bit position, and a member the engine lacks', () => {
    const c = compilerSays(probe(), real.name);
    const moved = { ...real, fields: real.fields.map((f) => (f.name === 'SndNxt' ? { ...f, offset: f.offset + 4 } : f)) };
    expect(compareLayout(moved, c).mismatches).toEqual([
      'TCP_OFFLOAD_STATE_DELEGATED.SndNxt offset: engine 0x20, gcc 0x1c',
    ]);
    const dropped = { ...real, fields: real.fields.filter((f) => f.name !== 'DWnd') };
    expect(compareLayout(dropped, c).mismatches).toEqual([
      'TCP_OFFLOAD_STATE_DELEGATED.DWnd: the compiler has it, the engine does not place it',
    ]);
    const cached = layoutOf('TCP_OFFLOAD_STATE_CACHED', X64, '6.1');
    const shifted = {
      ...cached,
      fields: cached.fields.map((f) => (f.name === 'UserPriority' ? { ...f, bitOffset: 1 } : f)),
    };
    expect(compareLayout(shifted, compilerSays(probe(), cached.name)).mismatches).toEqual([
      'TCP_OFFLOAD_STATE_CACHED.UserPriority bit position: engine 0x151, gcc 0x150',
    ]);
  });

  it('the declarations gcc compiles come from the descriptors: DWnd only from NDIS 6.1', () => {
    expect(cDeclarations(X64, '6.1')).toContain('uint32_t DWnd;');
    expect(cDeclarations(X64, '6.0')).not.toContain('DWnd;');
  });
});
