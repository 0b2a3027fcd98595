// `info` prints a dump's header whatever its kind: the 32-bit PAGEDUMP's (bugcheck, build,
// PaeEnabled, the PDPT or page directory CR3 names, the kernel pointers, 8 hex digits wide) and the
// RDMP header of DumpTypes 8, 9 and 10 (MetadataSize, FirstPageOffset, the ranges, and type 10's
// NumberOfRanges and TotalNumberOfPages), in the text and in --json.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { writeRdmpDump } from '../../src/codec/dump-writer.js';
import { RDMP } from '../../src/codec/dump.js';
import { HEADER, standardSpace, standardTrees } from '../support/dump-trees.js';
import { HEADER32, SAMPLE_DUMP32, buildX86Space, writeFullDump32, x86Regions, x86Trees } from '../support/x86-dumps.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), stdoutIsTty: false, errIsTty: false, env: {} });
  return { code, out, err };
}

const DIR = mkdtempSync(join(tmpdir(), 'ndis-info-rows-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

/** Without the capture object: the header's keys only. */
function header(out: string): Record<string, unknown> {
  const j = JSON.parse(out) as Record<string, unknown>;
  delete j.capture;
  return j;
}

describe('info on a 32-bit dump prints its header', () => {
  it('the bundled PAE bitmap dump: every row', async () => {
    const r = await run(['info', SAMPLE_DUMP32.file]);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toBe(
      [
        'file                 fixtures/initiate-x86-pae.dmp (40960 bytes, 40 KiB)',
        'signature            PAGEDUMP',
        'dump type            5 (bitmap dump, SDMP)',
        'OS build             7601 (free build)',
        'machine              0x14c (x86)',
        'processors           2',
        'bugcheck             0x000000e2 MANUALLY_INITIATED_CRASH',
        'parameters           0x00000000 0x00000000 0x00000000 0x00000000',
        'system time          2011-05-06T07:08:09.123Z',
        'up time              1h 0m 0s',
        'DTB                  0x006755a0 (PDPT at physical 0x6755a0)',
        'PaeEnabled           1 (PAE paging)',
        'KdDebuggerDataBlock  0x82b5cc28',
        'PsLoadedModuleList   0x82b7a850',
        'PsActiveProcessHead  0x82b72e98',
        'PfnDataBase          0x84000000',
        'physical memory      2 runs, 2206 pages (8.62 MiB)',
        '                     PFN 0x1-0x9e  158 pages  (physical 0x1000, 632 KiB)',
        '                     PFN 0x100-0x8ff  2048 pages  (physical 0x100000, 8 MiB)',
        'pages stored         8 (32 KiB)',
        'bitmap               2304 bits, 8 present, first page at file offset 0x2000',
        'required space       40960 bytes',
        'comment              ndis-offload x86 test dump',
        'format               dump32 (PAGEDUMP bitmap dump (DumpType 5, SDMP))',
        'ABI                  x86',
        'paging               PAE 3-level paging',
        'DTB source           from the header: DUMP_HEADER32.DirectoryTableBase 0x6755a0 (file offset 0x10), PaeEnabled 1 (file offset 0x5c)',
        'warnings             none',
        '',
      ].join('\n'),
    );
  });

  it('the bundled PAE bitmap dump: every header key in --json, pointers 8 hex digits, 64-bit values strings', async () => {
    const r = await run(['info', SAMPLE_DUMP32.file, '--json']);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(header(r.out)).toEqual({
      file: 'fixtures/initiate-x86-pae.dmp',
      fileSize: 40960,
      signature: 'PAGEDUMP',
      dumpType: 5,
      dumpTypeName: 'bitmap dump',
      majorVersion: 15,
      checkedBuild: false,
      osBuild: 7601,
      machine: '0x14c',
      machineName: 'x86',
      processors: 2,
      bugCheck: { code: '0x000000e2', name: 'MANUALLY_INITIATED_CRASH', parameters: ['0x00000000', '0x00000000', '0x00000000', '0x00000000'] },
      systemTime: '2011-05-06T07:08:09.123Z',
      systemTimeRaw: '0x1cc0bbc5ac09730',
      systemUpTime: '36000000000',
      systemUpTimeSeconds: 3600,
      directoryTableBase: '0x006755a0',
      paeEnabled: true,
      pdpt: '0x6755a0',
      pfnDataBase: '0x84000000',
      psLoadedModuleList: '0x82b7a850',
      psActiveProcessHead: '0x82b72e98',
      kdDebuggerDataBlock: '0x82b5cc28',
      requiredDumpSpace: '40960',
      physicalMemory: { numberOfPages: '2206', runs: [{ basePage: '0x1', pageCount: '158' }, { basePage: '0x100', pageCount: '2048' }] },
      pagesStored: '8',
      bitmap: { signature: 'SDMP', firstPage: '0x2000', totalPresentPages: '8', bits: '2304' },
      rdmp: null,
      comment: 'ndis-offload x86 test dump',
      warnings: [],
    });
  });

  it('a non-PAE full dump: page directory, PaeEnabled 0, CR3 flags named, bugcheck parameters as stored', async () => {
    const space = buildX86Space(x86Regions(x86Trees().slice(0, 1)), { paging: 'non-pae', dtbFlags: 0x18 });
    const path = join(DIR, 'non-pae.dmp');
    writeFullDump32(space, { ...HEADER32, bugCheckCode: 0xd1, bugCheckParameters: [0x8a400fe0, 2, 0, 0x8f0a1b2c] }).toFile(path);
    const r = await run(['info', path]);
    expect([r.code, r.err]).toEqual([0, '']);
    const rows = r.out.split('\n');
    expect(rows.slice(1, 22)).toEqual([
      'signature            PAGEDUMP',
      'dump type            1 (full memory dump)',
      'OS build             7601 (free build)',
      'machine              0x14c (x86)',
      'processors           2',
      'bugcheck             0x000000d1 DRIVER_IRQL_NOT_LESS_OR_EQUAL',
      'parameters           0x8a400fe0 0x00000002 0x00000000 0x8f0a1b2c',
      'system time          2011-05-06T07:08:09.123Z',
      'up time              1h 0m 0s',
      'DTB                  0x00100018 (page directory at physical 0x100000; low 12 bits 0x18, flags, ignored)',
      'PaeEnabled           0 (non-PAE paging)',
      'KdDebuggerDataBlock  0x82b5cc28',
      'PsLoadedModuleList   0x82b7a850',
      'PsActiveProcessHead  0x82b72e98',
      'PfnDataBase          0x84000000',
      'physical memory      2 runs, 162 pages (648 KiB)',
      '                     PFN 0x1-0x9e  158 pages  (physical 0x1000, 632 KiB)',
      '                     PFN 0x100-0x103  4 pages  (physical 0x100000, 16 KiB)',
      'pages stored         162 (648 KiB)',
      'required space       667648 bytes',
      'comment              ndis-offload x86 test dump',
    ]);
    const j = header((await run(['info', path, '--json'])).out);
    expect(j).toMatchObject({
      dumpType: 1,
      dumpTypeName: 'full memory dump',
      bugCheck: { code: '0x000000d1', name: 'DRIVER_IRQL_NOT_LESS_OR_EQUAL', parameters: ['0x8a400fe0', '0x00000002', '0x00000000', '0x8f0a1b2c'] },
      directoryTableBase: '0x00100018',
      paeEnabled: false,
      pageDirectory: '0x100000',
      bitmap: null,
      rdmp: null,
    });
    expect(j).not.toHaveProperty('pdpt');
    expect(j).not.toHaveProperty('pml4');
  });
});

describe('info on an RDMP dump prints the RDMP header', () => {
  const SPACE = standardSpace(standardTrees());
  const complete = join(DIR, 'complete.dmp');
  const kernel = join(DIR, 'kernel.dmp');
  writeRdmpDump(SPACE, { ...HEADER, dumpType: 10 }).toFile(complete);
  writeRdmpDump(SPACE, { ...HEADER, dumpType: 8 }).toFile(kernel);
  const u64 = (path: string, at: number): bigint => Buffer.from(readFileSync(path)).readBigUInt64LE(at);

  it('type 10: every row, with NumberOfRanges and TotalNumberOfPages', async () => {
    const r = await run(['info', complete]);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toBe(
      [
        `file                 ${complete} (19533824 bytes, 18.63 MiB)`,
        'signature            PAGEDU64',
        'dump type            10 (complete memory dump (RDMP))',
        'OS build             22631 (free build)',
        'machine              0x8664 (x64)',
        'processors           8',
        'bugcheck             0x0000009f DRIVER_POWER_STATE_FAILURE',
        'parameters           0x0000000000000003 0xffffc70a0f6e2a40 0xfffff8034a000100 0xffffc70a12345000',
        'system time          2024-03-04T05:06:07.890Z',
        'up time              1h 2m 5s',
        'DTB                  0x0000000000908001 (PML4 at physical 0x908000; low 12 bits 0x1, the PCID or flags, ignored)',
        'KdDebuggerDataBlock  0xfffff8034a000b20',
        'PsLoadedModuleList   0xfffff8034a22a2d0',
        'PsActiveProcessHead  0xfffff8034a21e080',
        'PfnDataBase          0xffffe80000000000',
        'physical memory      2 runs, 4766 pages (18.62 MiB)',
        '                     PFN 0x1-0x9e  158 pages  (physical 0x1000, 632 KiB)',
        '                     PFN 0x100-0x12ff  4608 pages  (physical 0x100000, 18 MiB)',
        'pages stored         4766 (18.62 MiB)',
        'MetadataSize         0xfe0 (4064 bytes)',
        'FirstPageOffset      0x3000',
        'ranges               2 (4766 pages)',
        'NumberOfRanges       2',
        'TotalNumberOfPages   4766',
        'required space       19533824 bytes',
        'comment              ndis-offload test dump',
        'format               dump (PAGEDU64 DumpType 10 (complete memory dump (RDMP)))',
        'ABI                  x64',
        'paging               x64 4-level paging',
        'DTB source           from the header: DUMP_HEADER64.DirectoryTableBase 0x908001 (file offset 0x10)',
        'warnings             none',
        '',
      ].join('\n'),
    );
    // The values are the file's.
    expect([u64(complete, RDMP.MetadataSize), u64(complete, RDMP.FirstPageOffset), u64(complete, RDMP.TotalNumberOfPages)]).toEqual([0xfe0n, 0x3000n, 4766n]);
    expect(header((await run(['info', complete, '--json'])).out).rdmp).toEqual({
      metadataSize: '4064',
      firstPageOffset: '0x3000',
      ranges: '2',
      numberOfRanges: 2,
      totalNumberOfPages: '4766',
    });
  });

  it('type 8: the ranges as read, no type-10 fields', async () => {
    const r = await run(['info', kernel]);
    expect([r.code, r.err]).toEqual([0, '']);
    const rows = r.out.split('\n');
    const at = rows.indexOf('pages stored         62 (248 KiB)');
    expect(rows.slice(at, at + 6)).toEqual([
      'pages stored         62 (248 KiB)',
      'MetadataSize         0xfe0 (4064 bytes)',
      'FirstPageOffset      0x3000',
      'ranges               61 (62 pages)',
      'required space       266240 bytes',
      'comment              ndis-offload test dump',
    ]);
    expect(header((await run(['info', kernel, '--json'])).out).rdmp).toEqual({
      metadataSize: '4064',
      firstPageOffset: '0x3000',
      ranges: '61',
      numberOfRanges: null,
      totalNumberOfPages: null,
    });
  });

  it('a bitmap dump has no RDMP rows, and rdmp null', async () => {
    const r = await run(['info', 'fixtures/sample-x64.dmp']);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/MetadataSize|FirstPageOffset|^ranges/m);
    expect(header((await run(['info', 'fixtures/sample-x64.dmp', '--json'])).out).rdmp).toBeNull();
  });
});
