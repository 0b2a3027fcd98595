/*
 * walk-read/native-c: the hand-written walk in C over the same bytes (x64 NDIS 6.1 offsets as
 * constants), timed inside this program with CLOCK_MONOTONIC. Built by bench/run.ts with
 * gcc -O2 into a temporary directory.
 *
 *   walk <image file> <base hex> <root hex> <warmup> <iterations>
 *
 * Prints one JSON line: {"sum": <port sum>, "ms": [<ms per iteration>...]}.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NEXT = 8, DEP = 16, BLOCK = 152, REMOTE_PORT = BLOCK + 10, LOCAL_PORT = BLOCK + 12 };

static const uint8_t *image;
static size_t length;
static uint64_t base;

static inline uint64_t rd64(size_t at) { uint64_t v; memcpy(&v, image + at, 8); return v; }
static inline uint16_t rd16(size_t at) { uint16_t v; memcpy(&v, image + at, 2); return v; }

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

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: walk <image> <base hex> <root hex> <warmup> <iterations>\n"); return 1; }
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  length = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(length);
  if (!buf || fread(buf, 1, length, f) != length) { fprintf(stderr, "cannot read %s\n", argv[1]); return 1; }
  fclose(f);
  image = buf;
  base = strtoull(argv[2], NULL, 16);
  int64_t root = (int64_t)(strtoull(argv[3], NULL, 16) - base);
  int warmup = atoi(argv[4]), iterations = atoi(argv[5]);
  volatile uint64_t sink = 0;
  for (int i = 0; i < warmup; i++) sink += walk(root);
  printf("{\"sum\": %llu, \"ms\": [", (unsigned long long)walk(root));
  for (int i = 0; i < iterations; i++) {
    double t = now_ms();
    sink += walk(root);
    printf(i ? ", %.6f" : "%.6f", now_ms() - t);
  }
  printf("]}\n");
  (void)sink;
  return 0;
}
