#!/usr/bin/python3
"""Reads the captures scripts/crosscheck/volatility3-inputs.ts wrote through Volatility 3's layers
and compares what they read with what ndis-offload read (manifest.json). A check run once by hand
and recorded in docs/testing.md; no test depends on it.

    npx tsx scripts/crosscheck/volatility3-inputs.ts /tmp/ndis-vol3
    /usr/bin/python3 scripts/crosscheck/volatility3.py /PATH/TO/volatility3 /tmp/ndis-vol3

/PATH/TO/volatility3 is a checkout of github.com/volatilityfoundation/volatility3 (its framework
needs only the standard library for the layers used here). For each capture the physical layer is
stacked by hand, as Volatility's stackers would (LimeLayer, Elf64Layer, VmwareLayer over the .vmem
and its .vmss, WindowsCrashDump32Layer / WindowsCrashDump64Layer), and Windows' translation layer
over it (WindowsIntel32e, WindowsIntelPAE, WindowsIntel: transition PTEs read as Windows reads
them) with the DTB ndis-offload chose (the dumps' own DirectoryTableBase is compared too). Then:

- blocks: every block and state structure of every tree, read at its virtual address;
- hexdump: every range `ndis-offload hexdump --root ROOT --json` printed (the command line's own
  read), its bytes and its file offset (Volatility's virtual -> physical -> file mapping);
- translations: each virtual page the manifest lists translates to the same physical address, or
  to none; and every page Volatility's mapping() walk of the kernel half yields that the manifest
  also lists agrees (the walk skips a large page not wholly stored: counted, not a disagreement);
- physical: the pages stored (Volatility's segments against ndis-offload's runs) and the SHA-256
  of every frame with content.

Prints one line per capture and every disagreement; exits 1 if there is any. A capture whose
format Volatility does not read is reported as such, with Volatility's own message.
"""
import hashlib
import json
import os
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    vol_dir, data_dir = sys.argv[1], sys.argv[2]
    sys.path.insert(0, vol_dir)
    import volatility3.framework as framework
    from volatility3.framework import contexts, exceptions
    from volatility3.framework.layers import crash, elf, intel, lime, physical, vmware

    framework.require_interface_version(2, 0, 0)
    with open(os.path.join(data_dir, "manifest.json")) as f:
        manifest = json.load(f)

    page = manifest["pageSize"]
    failures = 0

    def file_layer(ctx, name, path):
        ctx.config[f"{name}.location"] = "file://" + os.path.abspath(path)
        layer = physical.FileLayer(ctx, name, name)
        ctx.add_layer(layer)
        return name

    def stack(ctx, cap):
        """The physical layer Volatility reads the capture with, and the DTB it finds itself (dumps)."""
        files = cap["files"]
        kind = cap["volatility"]
        base = file_layer(ctx, "file", files[0])
        if kind == "vmware":
            file_layer(ctx, "meta", files[1])
            ctx.config["phys.base_layer"] = base
            ctx.config["phys.meta_layer"] = "meta"
            layer = vmware.VmwareLayer(ctx, "phys", "phys")
        else:
            ctx.config["phys.base_layer"] = base
            cls = {
                "lime": lime.LimeLayer,
                "elf64": elf.Elf64Layer,
                "elf32": elf.Elf64Layer,  # Volatility 3 has no ELF32 layer: this says so
                "crash32": crash.WindowsCrashDump32Layer,
                "crash64": crash.WindowsCrashDump64Layer,
            }[kind]
            if kind == "elf32" or kind == "elf64":
                elf.Elf64Layer._check_header(ctx.layers[base])
            if kind.startswith("crash"):
                cls.check_header(ctx.layers[base])
            layer = cls(ctx, "phys", "phys")
        ctx.add_layer(layer)
        return layer, getattr(layer, "dtb", None)

    for cap in manifest["captures"]:
        name = cap["name"]
        ctx = contexts.Context()
        try:
            phys, header_dtb = stack(ctx, cap)
        except (exceptions.LayerException, exceptions.InvalidAddressException, KeyError, ValueError) as e:
            print(f"{name}: NOT READ by Volatility 3: {type(e).__name__}: {e}")
            continue
        problems = []

        dtb = int(cap["dtb"], 16)
        if header_dtb is not None and (header_dtb & ~0x1F if cap["paging"] == "pae" else header_dtb & ~0xFFF) != dtb:
            problems.append(f"DTB: Volatility's header reads {header_dtb:#x}, ndis-offload {dtb:#x}")
        cls = {"x64": intel.WindowsIntel32e, "pae": intel.WindowsIntelPAE, "non-pae": intel.WindowsIntel}[cap["paging"]]
        ctx.config["virt.memory_layer"] = "phys"
        ctx.config["virt.page_map_offset"] = dtb
        virt = cls(ctx, "virt", "virt")
        ctx.add_layer(virt)
        vmask = (1 << 48) - 1 if cap["paging"] == "x64" else (1 << 32) - 1

        def canonical(va):
            return va | 0xFFFF000000000000 if cap["paging"] == "x64" and va >> 47 & 1 else va

        # Every block and state structure, by virtual address.
        blocks_same = 0
        for b in cap["blocks"]:
            va = int(b["va"], 16)
            want = bytes.fromhex(b["hex"])
            try:
                got = virt.read(va & vmask, len(want))
            except exceptions.InvalidAddressException as e:
                problems.append(f"block {b['path']} at {va:#x}: Volatility cannot read it ({e})")
                continue
            if got != want:
                at = next(i for i in range(len(want)) if got[i] != want[i])
                problems.append(f"block {b['path']} at {va:#x}: byte {at} differs (Volatility {got[at]:#04x}, ndis-offload {want[at]:#04x})")
            else:
                blocks_same += 1

        # What `ndis-offload hexdump --json` printed: every member's bytes, and its file offset where
        # the command gives one, against Volatility's chain virtual -> physical -> file.
        hex_same = offsets_same = 0
        for r in cap["hexdump"]:
            va = int(r["address"], 16)
            want = bytes.fromhex(r["hex"])
            try:
                got = virt.read(va & vmask, len(want))
            except exceptions.InvalidAddressException as e:
                problems.append(f"hexdump {r['tree']} {va:#x}: Volatility cannot read it ({e})")
                continue
            if got != want:
                problems.append(f"hexdump {r['tree']} {va:#x}: bytes differ (Volatility {got.hex()}, ndis-offload {r['hex']})")
                continue
            hex_same += 1
            if r["offset"] is None:
                continue
            pieces = [
                (foff, flen)
                for _o, vlen, poff, _pl, _l in virt.mapping(va & vmask, len(want))
                for _o2, flen, foff, _fl, _l2 in phys.mapping(poff, vlen)
            ]
            if len(pieces) != 1 or pieces[0][0] != r["offset"]:
                problems.append(f"hexdump {r['tree']} {va:#x}: file offset ndis-offload {r['offset']:#x}, Volatility {[(hex(o), n) for o, n in pieces]}")
            else:
                offsets_same += 1

        # Translations of the listed virtual pages.
        ours = {}
        for va_s, pa_s in cap["translations"]:
            ours[int(va_s, 16) & ~(page - 1)] = None if pa_s is None else int(pa_s, 16) & ~(page - 1)
        translated = mapped = 0
        for va, pa in ours.items():
            got = list(virt.mapping(va & vmask, 1, ignore_errors=True))
            theirs = got[0][2] & ~(page - 1) if got else None
            if theirs != pa:
                why = ""
                if theirs is None:
                    try:
                        virt.translate(va & vmask)
                    except exceptions.InvalidAddressException as e:
                        why = f" ({e})"
                problems.append(f"page {va:#x}: Volatility {'none' if theirs is None else hex(theirs)}{why}, ndis-offload {'none' if pa is None else hex(pa)}")
            translated += 1
            mapped += pa is not None
        # Every page Volatility maps in the kernel half, where the manifest lists it.
        kernel = 0xFFFF800000000000 if cap["paging"] == "x64" else 0x80000000
        listed = unlisted = 0
        walked = set()
        for off, length, moff, _mlen, _layer in virt.mapping(kernel & vmask, (vmask + 1) - (kernel & vmask), ignore_errors=True):
            for k in range(0, length, page):
                va = canonical(off + k)
                walked.add(va)
                if va in ours:
                    listed += 1
                    if ours[va] != moff + k:
                        problems.append(f"page {va:#x}: Volatility maps it to {moff + k:#x}, ndis-offload {ours[va]}")
                else:
                    unlisted += 1

        # Volatility's mapping() drops a whole large page when not every frame of it is stored (it
        # checks the chunk up to the page's end), though each of its stored pages translates alike
        # when asked alone (above): count those, not as disagreements.
        skipped = sum(1 for va, pa in ours.items() if pa is not None and va >= kernel and va not in walked)

        # Physical memory: the pages stored, and every frame with content.
        runs = []
        for start, _moff, length, _ml in sorted(phys._segments):
            first, count = start // page, -(-length // page)
            if runs and runs[-1][0] + runs[-1][1] == first:
                runs[-1][1] += count
            else:
                runs.append([first, count])
        if runs != [list(r) for r in cap["stored"]]:
            problems.append(f"stored pages: Volatility {len(runs)} runs, {sum(c for _, c in runs)} pages {runs[:4]}...; ndis-offload {len(cap['stored'])} runs, {sum(c for _, c in cap['stored'])} pages {cap['stored'][:4]}...")
        frames_same = 0
        for pfn, digest in cap["frames"]:
            try:
                got = phys.read(pfn * page, page)
            except exceptions.InvalidAddressException as e:
                problems.append(f"frame {pfn:#x}: Volatility cannot read it ({e})")
                continue
            if hashlib.sha256(got).hexdigest() != digest:
                problems.append(f"frame {pfn:#x}: content differs")
            else:
                frames_same += 1

        # Volatility's IntelPAE reads the PDPT as a whole page from CR3 & ~0x1F (intel.py,
        # _get_valid_table): with the PDPT in the middle of its frame, that runs into the next
        # frame, and fails where the capture does not store it. The PDPT is 32 bytes.
        explained = []
        if cap["paging"] == "pae" and dtb & 0xFFF and not phys.is_valid((dtb & ~0xFFF) + page):
            after = (dtb & ~0xFFF) + page
            explained = [p for p in problems if f"Invalid address at {after:x}" in p]
            problems = [p for p in problems if p not in explained]
            print(
                f"{name}: NOT READ through Volatility's PAE layer: the PDPT is at {dtb:#x}, mid-frame; WindowsIntelPAE reads "
                f"a whole page from there, into frame {after:#x}, which this dump does not store "
                f"({len(explained)} block ranges and pages unreadable, all with 'Invalid address at {after:x}')"
            )
        if problems:
            status = f"{len(problems)} DISAGREEMENTS"
        elif explained:
            status = f"AGREE where Volatility reads ({len(explained)} unreadable, above)"
        else:
            status = "AGREE"
        dtb_note = f", header DTB {header_dtb:#x}" if header_dtb is not None else ""
        print(
            f"{name}: {status}: {type(phys).__name__} + {cls.__name__} at DTB {dtb:#x}{dtb_note}; "
            f"{blocks_same}/{len(cap['blocks'])} block ranges equal; hexdump: {hex_same}/{len(cap['hexdump'])} ranges equal, {offsets_same} file offsets equal; "
            f"{translated} pages translated alike ({mapped} mapped); "
            f"{listed} kernel pages Volatility's walk maps checked ({unlisted} not listed by ndis-offload, {skipped} of ndis-offload's not in its walk); "
            f"{sum(c for _, c in runs)} pages stored in {len(runs)} runs; {frames_same}/{len(cap['frames'])} frames equal"
        )
        for p in problems[:40]:
            print(f"  {p}")
        if len(problems) > 40:
            print(f"  ... {len(problems) - 40} more")
        failures += len(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
