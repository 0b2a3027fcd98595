/*
 * walk-read/native-c and status-write/native-c: the hand-written loops of bench/hand.ts in C over
 * the same bytes (x64 NDIS 6.1 offsets as constants), timed inside this program with
 * CLOCK_MONOTONIC. Built by bench/run.ts with gcc -O2 into a temporary directory.
 *
 *   walk read <image file> <base hex> <root hex> <warmup> <iterations>
 *   walk status <image file> <base hex> <root hex> <warmup> <iterations> <status hex>
 *
 * Prints one JSON line: {"sum": <result>, "ms": [<ms per iteration>...]}, where the result of
 * read is the sum of LocalPort + RemotePort over the TCP blocks, and that of status the sum of
 * the Status words (as unsigned 32-bit numbers) over all blocks after one completion.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NEXT = 8, DEP = 16, STATUS = 24, CTX = 48, BLOCK = 152, REMOTE_PORT = BLOCK + 10, LOCAL_PORT = BLOCK + 12 };
enum { PLACEHOLDER, LINKER, NEW };
#define SUCCESS 0u
#define PARTIAL 0x40020004u
#define FAILURE 0xc0000001u

static uint8_t *image;
static size_t length;
static uint64_t base;

static inline uint64_t rd64(size_t at) { uint64_t v; memcpy(&v, image + at, 8); return v; }
static inline uint16_t rd16(size_t at) { uint16_t v; memcpy(&v, image + at, 2); return v; }
static inline uint32_t rd32(size_t at) { uint32_t v; memcpy(&v, image + at, 4); return v; }
static inline void wr32(size_t at, uint32_t v) { memcpy(image + at, &v, 4); }

/* Offset of the block a pointer at `at` points to; -1 for NULL; the walk stops outside the image. */
static inline int64_t link_at(size_t at) {
  uint64_t p = rd64(at);
  if (p == 0) return -1;
  uint64_t off = p - base;
  if (off > length - BLOCK - 24) { fprintf(stderr, "pointer outside the image\n"); exit(2); }
  return (int64_t)off;
}

static uint64_t walk(int64_t root) {
  uint64_t sum = 0;
  for (int64_t n = root; n >= 0; n = link_at((size_t)n + NEXT))
    for (int64_t p = link_at((size_t)n + DEP); p >= 0; p = link_at((size_t)p + NEXT))
      for (int64_t t = link_at((size_t)p + DEP); t >= 0; t = link_at((size_t)t + NEXT))
        sum += (uint64_t)rd16((size_t)t + LOCAL_PORT) + rd16((size_t)t + REMOTE_PORT);
  return sum;
}

/* The role of the block at `o`, from MiniportOffloadContext and the cell it points to. */
static inline int role(size_t o) {
  uint64_t p = rd64(o + CTX);
  if (p == 0) return PLACEHOLDER;
  uint64_t cell = p - base;
  if (cell > length - 8) return NEW; /* outside the image: the target decides */
  return rd64((size_t)cell) == 0 ? NEW : LINKER;
}

static inline uint32_t decide(int r, uint32_t status, uint64_t ok, uint64_t deps) {
  if (r == PLACEHOLDER) return SUCCESS;
  if (r == LINKER) return ok == deps ? SUCCESS : ok == 0 ? FAILURE : PARTIAL;
  return status;
}

/* Completes an initiate with `status` for every new offload; returns the blocks written. */
static uint64_t status_write(int64_t root, uint32_t status) {
  uint64_t blocks = 0;
  for (int64_t n = root; n >= 0; n = link_at((size_t)n + NEXT)) {
    uint64_t n_ok = 0, n_deps = 0;
    for (int64_t p = link_at((size_t)n + DEP); p >= 0; p = link_at((size_t)p + NEXT)) {
      uint64_t p_ok = 0, p_deps = 0;
      for (int64_t t = link_at((size_t)p + DEP); t >= 0; t = link_at((size_t)t + NEXT)) {
        uint32_t s = decide(role((size_t)t), status, 0, 0);
        wr32((size_t)t + STATUS, s);
        p_deps++;
        if ((int32_t)s >= 0) p_ok++;
        blocks++;
      }
      uint32_t s = decide(role((size_t)p), status, p_ok, p_deps);
      wr32((size_t)p + STATUS, s);
      n_deps++;
      if ((int32_t)s >= 0) n_ok++;
      blocks++;
    }
    wr32((size_t)n + STATUS, decide(role((size_t)n), status, n_ok, n_deps));
    blocks++;
  }
  return blocks;
}

/* The sum of the Status words over all blocks: what the caller checks a completion by. */
static uint64_t status_sum(int64_t root) {
  uint64_t sum = 0;
  for (int64_t n = root; n >= 0; n = link_at((size_t)n + NEXT)) {
    sum += rd32((size_t)n + STATUS);
    for (int64_t p = link_at((size_t)n + DEP); p >= 0; p = link_at((size_t)p + NEXT)) {
      sum += rd32((size_t)p + STATUS);
      for (int64_t t = link_at((size_t)p + DEP); t >= 0; t = link_at((size_t)t + NEXT)) sum += rd32((size_t)t + STATUS);
    }
  }
  return sum;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  int status_mode = argc == 8 && strcmp(argv[1], "status") == 0;
  if (!status_mode && !(argc == 7 && strcmp(argv[1], "read") == 0)) {
    fprintf(stderr, "usage: walk read <image> <base hex> <root hex> <warmup> <iterations>\n"
                    "       walk status <image> <base hex> <root hex> <warmup> <iterations> <status hex>\n");
    return 1;
  }
  FILE *f = fopen(argv[2], "rb");
  if (!f) { perror(argv[2]); return 1; }
  fseek(f, 0, SEEK_END);
  length = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(length);
  if (!buf || fread(buf, 1, length, f) != length) { fprintf(stderr, "cannot read %s\n", argv[2]); return 1; }
  fclose(f);
  image = buf;
  base = strtoull(argv[3], NULL, 16);
  int64_t root = (int64_t)(strtoull(argv[4], NULL, 16) - base);
  int warmup = atoi(argv[5]), iterations = atoi(argv[6]);
  uint32_t status = status_mode ? (uint32_t)strtoul(argv[7], NULL, 16) : 0;
  volatile uint64_t sink = 0;
  for (int i = 0; i < warmup; i++) sink += status_mode ? status_write(root, status) : walk(root);
  uint64_t result = status_mode ? (status_write(root, status), status_sum(root)) : walk(root);
  printf("{\"sum\": %llu, \"ms\": [", (unsigned long long)result);
  for (int i = 0; i < iterations; i++) {
    double t = now_ms();
    sink += status_mode ? status_write(root, status) : walk(root);
    printf(i ? ", %.6f" : "%.6f", now_ms() - t);
  }
  printf("]}\n");
  (void)sink;
  return 0;
}
