#!/usr/bin/python3
"""Reads the 64-bit crash dumps scripts/crosscheck/volatility3-inputs.ts wrote (DumpTypes 1, 5, 6,
8, 9 and 10, and the bundled fixtures/sample-x64.dmp) through kdmp-parser's library, with scripts/crosscheck/kdmp-read.cc, and compares
what it reads with what ndis-offload read (manifest.json). A check run once by hand and recorded
in docs/testing.md; no test depends on it.

    npx tsx scripts/crosscheck/volatility3-inputs.ts /tmp/ndis-vol3
    g++ -std=c++20 -O2 -I KDMP_PARSER/src/lib scripts/crosscheck/kdmp-read.cc -o /tmp/kdmp-read
    /usr/bin/python3 scripts/crosscheck/kdmp-parser.py /tmp/kdmp-read /tmp/ndis-vol3

Per dump: the DumpType and DirectoryTableBase of the header; the physical pages stored (every
one, against ndis-offload's runs); the SHA-256 of every frame with content; every block and state
structure of every tree read at its virtual address with the header's DTB; the translation of
every virtual page the manifest lists. kdmp-parser's VirtTranslate follows present entries only,
so it cannot read a page mapped by a transition PTE, which Windows (and ndis-offload) reads: those
pages, and the blocks on them, are counted apart, not as disagreements. Exits 1 on any
disagreement.
"""
import hashlib
import json
import os
import subprocess
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    tool, data_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(data_dir, "manifest.json")) as f:
        manifest = json.load(f)
    page = manifest["pageSize"]
    failures = 0
    for cap in manifest["captures"]:
        if cap["volatility"] != "crash64":
            continue
        requests = ["s"]
        requests += [f"f {pfn}" for pfn, _ in cap["frames"]]
        requests += [f"t {va}" for va, _ in cap["translations"]]
        requests += [f"v {b['va']} {len(b['hex']) // 2}" for b in cap["blocks"]]
        out = subprocess.run([tool, cap["files"][0]], input="\n".join(requests) + "\n", capture_output=True, text=True, check=True).stdout
        answers = [line.split(" ") for line in out.splitlines() if line[:2] in ("H ", "S ", "F ", "T ", "V ", "E ")]
        by = {}
        for a in answers:
            by.setdefault(a[0], []).append(a[1:])
        problems = []
        if "E" in by:
            print(f"{cap['name']}: NOT READ by kdmp-parser: {' '.join(by['E'][0])}")
            continue
        dump_type, header_dtb = int(by["H"][0][0]), int(by["H"][0][1], 16)
        if dump_type != cap["dumpType"]:
            problems.append(f"DumpType: kdmp-parser {dump_type}, ndis-offload {cap['dumpType']}")
        if header_dtb & ~0xFFF != int(cap["dtb"], 16):
            problems.append(f"DTB: kdmp-parser {header_dtb:#x}, ndis-offload {cap['dtb']}")

        theirs_stored = [int(p) for p in by["S"][0]]
        ours_stored = [p for first, count in cap["stored"] for p in range(first, first + count)]
        if theirs_stored != ours_stored:
            only_t = sorted(set(theirs_stored) - set(ours_stored))
            only_o = sorted(set(ours_stored) - set(theirs_stored))
            problems.append(f"stored pages: kdmp-parser {len(theirs_stored)}, ndis-offload {len(ours_stored)}; only kdmp-parser {only_t[:8]}, only ndis-offload {only_o[:8]}")

        frames_same = 0
        digests = dict((pfn, d) for pfn, d in cap["frames"])
        for pfn_s, data in by.get("F", []):
            pfn = int(pfn_s)
            if data == "none":
                problems.append(f"frame {pfn:#x}: kdmp-parser does not have it")
            elif hashlib.sha256(bytes.fromhex(data)).hexdigest() != digests[pfn]:
                problems.append(f"frame {pfn:#x}: content differs")
            else:
                frames_same += 1

        transition = set(int(v, 16) for v in cap["transition"])
        ours = dict((int(va, 16), None if pa is None else int(pa, 16)) for va, pa in cap["translations"])
        same = apart = mapped = 0
        for va_s, pa_s in by.get("T", []):
            va = int(va_s, 16)
            theirs = None if pa_s == "none" else int(pa_s, 16)
            want = ours[va]
            if theirs == want:
                same += 1
                mapped += want is not None
            elif theirs is None and va & ~(page - 1) in transition:
                apart += 1
            else:
                problems.append(f"page {va:#x}: kdmp-parser {pa_s}, ndis-offload {'none' if want is None else hex(want)}")

        blocks_same = blocks_apart = 0
        for b, (va_s, data) in zip(cap["blocks"], by.get("V", [])):
            va = int(va_s, 16)
            end = va + len(b["hex"]) // 2
            on_transition = any(t < end and va < t + page for t in transition)
            if data == b["hex"]:
                blocks_same += 1
            elif data == "none" and on_transition:
                blocks_apart += 1
            else:
                problems.append(f"block {b['path']} at {va:#x}: " + ("kdmp-parser cannot read it" if data == "none" else "bytes differ"))

        status = "AGREE" if not problems else f"{len(problems)} DISAGREEMENTS"
        print(
            f"{cap['name']}: {status}: DumpType {dump_type}, DirectoryTableBase {header_dtb:#x}; "
            f"{len(theirs_stored)} pages stored; {frames_same}/{len(cap['frames'])} frames equal; "
            f"{same} pages translated alike ({mapped} mapped), {apart} transition pages kdmp-parser does not follow; "
            f"{blocks_same}/{len(cap['blocks'])} block ranges equal, {blocks_apart} on a transition page"
        )
        for p in problems[:40]:
            print(f"  {p}")
        failures += len(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
