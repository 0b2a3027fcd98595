// Reads a 64-bit Windows crash dump through kdmp-parser's library (github.com/0vercl0k/kdmp-parser,
// src/lib, header only) and answers requests from standard input, one a line, for
// scripts/crosscheck/kdmp-parser.py. A check run once by hand (docs/testing.md); no test needs it.
//
//   g++ -std=c++20 -O2 -I KDMP_PARSER/src/lib scripts/crosscheck/kdmp-read.cc -o /tmp/kdmp-read
//   /tmp/kdmp-read FILE.dmp < requests
//
// Requests and answers (kdmp-parser prints messages of its own on standard output; the answers are
// the lines that start with one of these capitals):
//   (first, unasked)  H <DumpType> <DirectoryTableBase>
//   s                 S <pfn> <pfn> ...          every physical page the dump stores, ascending
//   f <pfn>           F <pfn> <hex of 4096 bytes> | F <pfn> none
//   t <va>            T <va> <pa> | T <va> none  VirtTranslate with the header's DTB
//   v <va> <len>      V <va> <hex> | V <va> none GetVirtualPage, page by page
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "kdmp-parser.h"

static std::string hexOf(const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: kdmp-read FILE.dmp < requests\n");
    return 2;
  }
  kdmpparser::KernelDumpParser dump;
  if (!dump.Parse(argv[1])) {
    printf("E cannot parse %s\n", argv[1]);
    return 1;
  }
  printf("H %u 0x%" PRIx64 "\n", unsigned(dump.GetDumpType()), dump.GetDirectoryTableBase());
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string op;
    in >> op;
    if (op == "s") {
      std::vector<uint64_t> pfns;
      for (const auto &[pa, page] : dump.GetPhysmem()) pfns.push_back(pa >> 12);
      std::sort(pfns.begin(), pfns.end());
      printf("S");
      for (uint64_t p : pfns) printf(" %" PRIu64, p);
      printf("\n");
    } else if (op == "f") {
      uint64_t pfn = 0;
      in >> pfn;
      const uint8_t *page = dump.GetPhysicalPage(pfn << 12);
      printf("F %" PRIu64 " %s\n", pfn, page ? hexOf(page, 4096).c_str() : "none");
    } else if (op == "t") {
      uint64_t va = 0;
      in >> std::hex >> va;
      const auto pa = dump.VirtTranslate(va);
      if (pa && dump.GetPhysicalPage(*pa & ~uint64_t(0xfff)))
        printf("T 0x%" PRIx64 " 0x%" PRIx64 "\n", va, *pa);
      else
        printf("T 0x%" PRIx64 " none\n", va);
    } else if (op == "v") {
      uint64_t va = 0, len = 0;
      in >> std::hex >> va >> std::dec >> len;
      std::string bytes;
      bool ok = true;
      for (uint64_t at = va; ok && at < va + len;) {
        const uint64_t off = at & 0xfff;
        const uint64_t n = std::min<uint64_t>(0x1000 - off, va + len - at);
        const uint8_t *page = dump.GetVirtualPage(at);
        if (!page) ok = false;
        else bytes += hexOf(page + off, n);
        at += n;
      }
      printf("V 0x%" PRIx64 " %s\n", va, ok ? bytes.c_str() : "none");
    }
    fflush(stdout);
  }
  return 0;
}
