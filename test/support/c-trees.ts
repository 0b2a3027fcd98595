/**
 * Offload state trees built by C: a C program (the declarations from c-decl.ts, compiled with
 * gcc -mms-bitfields) that allocates blocks, state structures, MiniportOffloadContext cells and IP
 * address bytes in a static arena, links them with real pointers, sets every member by C
 * assignment from a seeded pseudo-random sequence, and reports what it built by reading its own
 * structs back (printf of each member). The tests decode the arena with the library and compare.
 *
 * The arena is a static global and the program is linked without PIE, so its address is the same
 * on every run: a second run of the same binary (`readStatuses`) loads bytes the library wrote
 * into the arena at that address and walks the tree in C to print every block's Status.
 *
 * What the program decides, it decides in C from the reference page's rules, not from the
 * library: which state follows a block (by role and operation), the combined types' layout (an
 * anonymous struct of the three parts placed right after the block), status and type names, IP
 * text (inet_ntop). The tree shapes (types, roles, links, allocation order) come from the specs
 * below.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Abi } from '../../src/layout/abi.js';
import { cDeclarations } from '../../src/layout/c-decl.js';
import type { Operation } from '../../src/layout/constants.js';
import type { NdisRevision } from '../../src/layout/descriptor.js';
import { cc, gate, launcherFor, requireTarget } from './cc.js';

// ---- tree specs ----------------------------------------------------------------------------

export type CRole = 'placeholder' | 'linker' | 'new-offload';

/** One block: its Header.Type, its role, and the first-to-last blocks of the layer above it. */
export interface CBlockSpec {
  type: number;
  role: CRole;
  dependents?: CBlockSpec[];
}

/** One tree: the root chain (neighbor layer), the operation it is built for, the allocation order. */
export interface CTreeSpec {
  name: string;
  operation: Operation;
  blocks: CBlockSpec[];
  /** The order the C program allocates the blocks in (default preorder): it decides where each lies. */
  allocation?: 'preorder' | 'reverse' | 'shuffled';
}

const OPERATIONS: readonly Operation[] = ['initiate', 'query', 'update', 'invalidate', 'terminate'];

/** OFFLOAD_STATE_TYPE values by layer: every state type, and the cached ones update carries. */
const EVERY_TYPE: readonly (readonly number[])[] = [
  [1, 2, 3, 4],
  [5, 6, 7, 8, 9, 10, 11, 12],
  [13, 14, 15, 17],
];
const CACHED_TYPES: readonly (readonly number[])[] = [[2], [6, 10], [14]];
/** Header.Type of placeholders is not significant: junk, other layers' types, the reserved markers. */
const JUNK_TYPES = [0, 16, 0xfe, 0xff, 0x42, 4, 13, 8, 200, 12];
const ROLES: readonly CRole[] = ['new-offload', 'linker', 'placeholder'];

/** mulberry32: a small seeded generator for shapes (the C program has its own for values). */
function shapeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The default trees for each operation: every role at every layer; every state type of the
 * operation (all 16 for initiate, query, invalidate and terminate; the cached ones for update)
 * with each non-placeholder role; long chains and wide fan-out; a single block; allocation in
 * preorder, reversed and shuffled.
 */
export function defaultTrees(): CTreeSpec[] {
  const trees: CTreeSpec[] = [];
  for (const operation of OPERATIONS) {
    const types = operation === 'update' ? CACHED_TYPES : EVERY_TYPE;
    let junk = 0;
    const placeholder = (): CBlockSpec => ({ type: JUNK_TYPES[junk++ % JUNK_TYPES.length]!, role: 'placeholder' });
    /** Every (type, role) of a layer, then a placeholder or two. */
    const combos = (layer: number, placeholders: number): CBlockSpec[] => [
      ...types[layer]!.flatMap((type) => (['new-offload', 'linker'] as const).map((role) => ({ type, role }))),
      ...Array.from({ length: placeholders }, placeholder),
    ];
    const cyc = (layer: number, i: number): CBlockSpec => {
      const role = ROLES[i % 3]!;
      return role === 'placeholder' ? placeholder() : { type: types[layer]![i % types[layer]!.length]!, role };
    };

    // 1. Every type with every role, at every layer: paths spread over the neighbors, TCPs over the paths.
    const neighbors = combos(0, 1).map((b) => ({ ...b, dependents: [] as CBlockSpec[] }));
    const paths = [...combos(1, 2), ...combos(1, 0)].map((b) => ({ ...b, dependents: [] as CBlockSpec[] }));
    paths.forEach((p, i) => neighbors[i % neighbors.length]!.dependents.push(p));
    [...combos(2, 2), ...combos(2, 1), ...combos(2, 0)].forEach((t, i) => paths[(i * 3) % paths.length]!.dependents.push(t));
    trees.push({ name: `${operation}: every type and role`, operation, blocks: neighbors });

    // 2. A long chain of TCP blocks under one path.
    trees.push({
      name: `${operation}: chain of 40 TCP blocks`,
      operation,
      allocation: 'reverse',
      blocks: [{ ...cyc(0, 1), dependents: [{ ...cyc(1, 0), dependents: Array.from({ length: 40 }, (_, i) => cyc(2, i)) }] }],
    });

    // 3. Fan-out: 16 paths (IPv4 and IPv6) under one neighbor, 0 to 4 TCP blocks each.
    const pathTypes = types[1]!;
    trees.push({
      name: `${operation}: fan-out of 16 paths`,
      operation,
      allocation: 'shuffled',
      blocks: [
        {
          ...cyc(0, 0),
          dependents: Array.from({ length: 16 }, (_, i) => ({
            ...(i % 5 === 4 ? placeholder() : { type: pathTypes[i % pathTypes.length]!, role: ROLES[i % 2]! }),
            dependents: Array.from({ length: i % 5 }, (_, j) => cyc(2, i + j)),
          })),
        },
      ],
    });

    // 4. A root chain of neighbors without dependents.
    trees.push({ name: `${operation}: root chain of 9 neighbors`, operation, blocks: Array.from({ length: 9 }, (_, i) => cyc(0, i)) });

    // 5. A single block.
    trees.push({ name: `${operation}: a single block`, operation, blocks: [{ type: types[0]![types[0]!.length - 1]!, role: operation === 'initiate' ? 'new-offload' : 'linker' }] });

    // 6. 3 x 3 x 3 with random roles and types, shuffled allocation.
    const rng = shapeRng(0x5eed + OPERATIONS.indexOf(operation));
    const pick = (layer: number): CBlockSpec => {
      const role = ROLES[Math.floor(rng() * 3)]!;
      if (role === 'placeholder') return placeholder();
      const list = types[layer]!;
      return { type: list[Math.floor(rng() * list.length)]!, role };
    };
    trees.push({
      name: `${operation}: 3 x 3 x 3 random`,
      operation,
      allocation: 'shuffled',
      blocks: Array.from({ length: 3 }, () => ({
        ...pick(0),
        dependents: Array.from({ length: 3 }, () => ({ ...pick(1), dependents: Array.from({ length: 3 }, () => pick(2)) })),
      })),
    });

    // 7. The common shapes: new connections over offloaded path and neighbor; everything new.
    const all = (layer: number): number => types[layer]![types[layer]!.length - 1]!;
    trees.push({
      name: `${operation}: linkers to new TCP, and all new`,
      operation,
      blocks: [
        { type: all(0), role: 'linker', dependents: [{ type: all(1), role: 'linker', dependents: [1, 2, 3].map(() => ({ type: all(2), role: 'new-offload' as const })) }] },
        { type: all(0), role: 'new-offload', dependents: [{ type: types[1]![0]!, role: 'new-offload', dependents: [{ type: all(2), role: 'new-offload' }] }] },
        { ...placeholder(), dependents: [{ ...placeholder(), dependents: [{ type: all(2), role: 'new-offload' }] }] },
      ],
    });
  }
  return trees;
}

// ---- the C program -------------------------------------------------------------------------

const C_ROLE: Readonly<Record<CRole, string>> = { placeholder: 'PLACEHOLDER', linker: 'LINKER', 'new-offload': 'NEW_OFFLOAD' };
const C_OP: Readonly<Record<Operation, string>> = {
  initiate: 'OP_INITIATE',
  query: 'OP_QUERY',
  update: 'OP_UPDATE',
  invalidate: 'OP_INVALIDATE',
  terminate: 'OP_TERMINATE',
};

/** The blocks of a tree in preorder, with the layer of each and the indexes of its links. */
function flatten(blocks: CBlockSpec[]): { spec: CBlockSpec; layer: number; next?: number; dependent?: number }[] {
  const out: { spec: CBlockSpec; layer: number; next?: number; dependent?: number }[] = [];
  const visit = (list: CBlockSpec[], layer: number): number | undefined => {
    if (layer > 2 && list.length) throw new Error('a TCP block cannot have dependents');
    let previous: { next?: number } | undefined;
    let first: number | undefined;
    for (const spec of list) {
      const index = out.length;
      const entry: { spec: CBlockSpec; layer: number; next?: number; dependent?: number } = { spec, layer };
      out.push(entry);
      if (previous) previous.next = index;
      else first = index;
      const dependent = visit(spec.dependents ?? [], layer + 1);
      if (dependent !== undefined) entry.dependent = dependent;
      previous = entry;
    }
    return first;
  };
  visit(blocks, 0);
  return out;
}

function treeFunction(tree: CTreeSpec, index: number): string {
  const flat = flatten(tree.blocks);
  let order = flat.map((_, i) => i);
  if (tree.allocation === 'reverse') order = order.reverse();
  if (tree.allocation === 'shuffled') {
    const rng = shapeRng(0xa110c + index);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  const op = C_OP[tree.operation];
  const lines = [
    `/* ${tree.name.replaceAll('*/', '* /')} */`,
    `static void tree_${index}(void) {`,
    `    BL *b[${Math.max(flat.length, 1)}];`,
    ...order.map((i) => `    b[${i}] = mk(${op}, ${flat[i]!.layer}, ${flat[i]!.spec.type}, ${C_ROLE[flat[i]!.spec.role]});`),
    ...flat.flatMap((e, i) => [
      ...(e.next !== undefined ? [`    b[${i}]->NextBlock = b[${e.next}];`] : []),
      ...(e.dependent !== undefined ? [`    b[${i}]->DependentBlockList = b[${e.dependent}];`] : []),
    ]),
    `    add_root(${JSON.stringify(tree.name)}, ${op}, ${flat.length ? 'b[0]' : 'NULL'});`,
    '}',
  ];
  return lines.join('\n');
}

/** The hand-written part of the program: allocation, filling, reporting, the status walk. */
const PROGRAM = String.raw`
typedef struct NDIS_MINIPORT_OFFLOAD_BLOCK_LIST BL;
typedef struct OFFLOAD_STATE_HEADER SH;
typedef struct NEIGHBOR_OFFLOAD_STATE_CONST NC;
typedef struct NEIGHBOR_OFFLOAD_STATE_CACHED NCA;
typedef struct NEIGHBOR_OFFLOAD_STATE_DELEGATED ND;
typedef struct PATH_OFFLOAD_STATE_CONST PC;
typedef struct PATH_OFFLOAD_STATE_CACHED PCA;
typedef struct PATH_OFFLOAD_STATE_DELEGATED PD;
typedef struct TCP_OFFLOAD_STATE_CONST TC;
typedef struct TCP_OFFLOAD_STATE_CACHED TCA;
typedef struct TCP_OFFLOAD_STATE_DELEGATED TD;
/* The combined types, as the host stack declares them: the three parts as members of one struct. */
typedef struct { NC c; NCA ca; ND d; } NALL;
typedef struct { PC c; PCA ca; PD d; } PALL;
typedef struct { TC c; TCA ca; TD d; } TALL;

enum { PLACEHOLDER, LINKER, NEW_OFFLOAD };
enum { OP_INITIATE, OP_QUERY, OP_UPDATE, OP_INVALIDATE, OP_TERMINATE };
static const char *const OP_NAMES[] = { "initiate", "query", "update", "invalidate", "terminate" };
static const char *const ROLE_NAMES[] = { "placeholder", "linker", "new-offload" };
static const char *const LAYER_NAMES[] = { "neighbor", "path", "tcp" };

/* In a section of its own, which the build may place high (above 2^31, 2^32) with --section-start. */
static unsigned char arena[1 << 20] __attribute__((aligned(16), section(".arena")));
static size_t used;

static void fail(const char *what) {
    fflush(stdout);
    fprintf(stderr, "c-trees: %s\n", what);
    exit(3);
}

/* ---- values: splitmix64 from the seed ---- */
static uint64_t rs = SEED;
static uint64_t rnd64(void) {
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static unsigned below(unsigned n) { return (unsigned)(rnd64() % n); }
/* An unsigned value of the given width: mostly random, often 0, 1, the maximum or near it. */
static uint64_t val(unsigned bits) {
    uint64_t max = bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
    switch (below(10)) {
    case 0: return 0;
    case 1: case 2: return max;
    case 3: return 1;
    case 4: return max >> 1;
    case 5: return (max >> 1) + 1;
    default: return rnd64() & max;
    }
}
/* An opaque pointer: NULL, all ones, 1, the top bit alone, or anything. */
static void *ptrval(void) {
    switch (below(8)) {
    case 0: return NULL;
    case 1: case 2: return (void *)~(uintptr_t)0;
    case 3: return (void *)(uintptr_t)1;
    case 4: return (void *)((uintptr_t)1 << (sizeof(void *) * 8 - 1));
    default: return (void *)(uintptr_t)rnd64();
    }
}
static void *nonnull_ptr(void) {
    void *p;
    do p = ptrval(); while (p == NULL);
    return p;
}

/* ---- the arena: C alignment, and sometimes a gap of junk between allocations ---- */
static void *alloc(size_t size, size_t align) {
    size_t at = (used + align - 1) / align * align;
    at += below(3) * align;
    if (at + size > sizeof arena) fail("the arena is full: fewer or smaller trees");
    used = at + size;
    return arena + at;
}

/* ---- what each block is, as built ---- */
struct meta { const BL *b; int layer, role, op, state; };
static struct meta metas[8192];
static int nmetas;
static const struct meta *meta_of(const BL *b) {
    for (int i = 0; i < nmetas; i++) if (metas[i].b == b) return &metas[i];
    return NULL;
}

/* The reference page's rules: which blocks carry state, per role and operation. */
static int state_follows(int role, int op) {
    if (role == PLACEHOLDER) return 0;
    switch (op) {
    case OP_INITIATE: return role == NEW_OFFLOAD;
    case OP_QUERY: case OP_UPDATE: case OP_TERMINATE: return 1;
    default: return 0;
    }
}

static size_t state_size(int type) {
    switch (type) {
    case 1: return sizeof(NC);
    case 2: return sizeof(NCA);
    case 3: return sizeof(ND);
    case 4: return sizeof(NALL);
    case 5: case 9: return sizeof(PC);
    case 6: case 10: return sizeof(PCA);
    case 7: case 11: return sizeof(PD);
    case 8: case 12: return sizeof(PALL);
    case 13: return sizeof(TC);
    case 14: return sizeof(TCA);
    case 15: return sizeof(TD);
    case 17: return sizeof(TALL);
    default: return 0;
    }
}

/* ---- statuses ---- */
static const int32_t INITIATE_OK[] = {
    0x00000000, 0x40020004, (int32_t)0xC0000001, (int32_t)0xC000009A, (int32_t)0xC0231004,
    (int32_t)0xC0231005, (int32_t)0xC0231006, (int32_t)0xC0231008, (int32_t)0xC0231007,
    (int32_t)0xC023100A, (int32_t)0xC023100B, (int32_t)0xC023100C, (int32_t)0xC0231009, (int32_t)0xC023100D,
};
static const int32_t DONE_OK[] = { 0x00000000, (int32_t)0xC0000001 };
/* Placeholders' Status is not checked: anything, known or not. */
static const int32_t ANY_STATUS[] = {
    0x00000000, 0x00000103, 0x40020001, 0x40020004, (int32_t)0xC0231011, (int32_t)0xC0231001,
    0x7FFFFFFF, (int32_t)0x80000000, -1, 0x12345678, (int32_t)0xC0000001,
};
#define PICK(a) ((a)[below(sizeof(a) / sizeof((a)[0]))])

static const struct { int32_t value; const char *name; } STATUS_NAMES[] = {
    { 0x00000000, "NDIS_STATUS_SUCCESS" },
    { 0x00000103, "NDIS_STATUS_PENDING" },
    { (int32_t)0xC0000001, "NDIS_STATUS_FAILURE" },
    { (int32_t)0xC000009A, "NDIS_STATUS_RESOURCES" },
    { 0x40020004, "NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS" },
    { (int32_t)0xC0231001, "NDIS_STATUS_UPLOAD_IN_PROGRESS" },
    { (int32_t)0xC0231002, "NDIS_STATUS_REQUEST_UPLOAD" },
    { (int32_t)0xC0231003, "NDIS_STATUS_UPLOAD_REQUESTED" },
    { (int32_t)0xC0231004, "NDIS_STATUS_OFFLOAD_TCP_ENTRIES" },
    { (int32_t)0xC0231005, "NDIS_STATUS_OFFLOAD_PATH_ENTRIES" },
    { (int32_t)0xC0231006, "NDIS_STATUS_OFFLOAD_NEIGHBOR_ENTRIES" },
    { (int32_t)0xC0231007, "NDIS_STATUS_OFFLOAD_IP_ADDRESS_ENTRIES" },
    { (int32_t)0xC0231008, "NDIS_STATUS_OFFLOAD_HW_ADDRESS_ENTRIES" },
    { (int32_t)0xC0231009, "NDIS_STATUS_OFFLOAD_VLAN_ENTRIES" },
    { (int32_t)0xC023100A, "NDIS_STATUS_OFFLOAD_TCP_XMIT_BUFFER" },
    { (int32_t)0xC023100B, "NDIS_STATUS_OFFLOAD_TCP_RCV_BUFFER" },
    { (int32_t)0xC023100C, "NDIS_STATUS_OFFLOAD_TCP_RCV_WINDOW" },
    { (int32_t)0xC023100D, "NDIS_STATUS_OFFLOAD_VLAN_MISMATCH" },
    { (int32_t)0xC023100E, "NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED" },
    { (int32_t)0xC023100F, "NDIS_STATUS_OFFLOAD_POLICY" },
    { (int32_t)0xC0231010, "NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED" },
    { (int32_t)0xC0231011, "NDIS_STATUS_OFFLOAD_REQUEST_RESET" },
};

static const char *const TYPE_NAMES[] = {
    NULL, "NeighborOffloadConstState", "NeighborOffloadCachedState", "NeighborOffloadDelegatedState",
    "NeighborOffloadState", "Ip4OffloadConstState", "Ip4OffloadCachedState", "Ip4OffloadDelegatedState",
    "Ip4OffloadState", "Ip6OffloadConstState", "Ip6OffloadCachedState", "Ip6OffloadDelegatedState",
    "Ip6OffloadState", "TcpOffloadConstState", "TcpOffloadCachedState", "TcpOffloadDelegatedState",
    "TcpOffloadResourceState", "TcpOffloadState",
};

static const char *connection_state(enum TCP_OFFLOAD_CONNECTION_STATE s) {
    switch (s) {
    case TcpConnectionClosed: return "TcpConnectionClosed";
    case TcpConnectionListen: return "TcpConnectionListen";
    case TcpConnectionSynSent: return "TcpConnectionSynSent";
    case TcpConnectionSynRcvd: return "TcpConnectionSynRcvd";
    case TcpConnectionEstablished: return "TcpConnectionEstablished";
    case TcpConnectionFinWait1: return "TcpConnectionFinWait1";
    case TcpConnectionFinWait2: return "TcpConnectionFinWait2";
    case TcpConnectionCloseWait: return "TcpConnectionCloseWait";
    case TcpConnectionClosing: return "TcpConnectionClosing";
    case TcpConnectionLastAck: return "TcpConnectionLastAck";
    case TcpConnectionTimeWait: return "TcpConnectionTimeWait";
    case TcpConnectionMaxState: return "TcpConnectionMaxState";
    }
    return NULL;
}

/* ---- filling state by C assignment ---- */
static void fill_header(SH *h, size_t length) {
    h->Length = (uint32_t)length;
    h->RecognizedOptions = (uint32_t)val(32);
}
static void fill_bytes(unsigned char *p, size_t n) {
    int mode = below(4);
    for (size_t i = 0; i < n; i++) p[i] = mode == 0 ? 0 : mode == 1 && i >= 6 ? 0 : (unsigned char)rnd64();
}
static void fill_nc(NC *s) {
    fill_header(&s->Header, sizeof *s);
    fill_bytes(s->DlSourceAddress, sizeof s->DlSourceAddress);
    s->VlanId = (uint32_t)val(12);
}
static void fill_nca(NCA *s) {
    fill_header(&s->Header, sizeof *s);
    fill_bytes(s->DlDestinationAddress, sizeof s->DlDestinationAddress);
    s->HostReachabilityDelta = (uint32_t)val(32);
}
static void fill_nd(ND *s) {
    fill_header(&s->Header, sizeof *s);
    s->NicReachabilityDelta = (uint32_t)val(32);
}
static void ip4(unsigned char *p) {
    switch (below(6)) {
    case 0: memset(p, 0, 4); break;
    case 1: memset(p, 255, 4); break;
    default: for (int i = 0; i < 4; i++) p[i] = (unsigned char)rnd64();
    }
}
static void ip6(unsigned char *p) {
    uint16_t w[8];
    for (;;) {
        for (int i = 0; i < 8; i++) w[i] = (uint16_t)(rnd64() | 1);
        switch (below(9)) {
        case 0: break;                                   /* no zero word */
        case 1: {                                        /* one run of zeros, anywhere */
            unsigned len = 2 + below(6), at = below(9 - len);
            for (unsigned i = 0; i < len; i++) w[at + i] = 0;
            break;
        }
        case 2: w[1] = w[2] = 0; w[5] = w[6] = 0; break; /* a tie: the first run is compressed */
        case 3: w[below(8)] = 0; break;                  /* a lone zero word is not compressed */
        case 4: memset(w, 0, sizeof w); if (below(2)) w[7] = 1; break; /* :: and ::1 */
        case 5: w[0] = 0xfe80; w[1] = w[2] = w[3] = 0; break;
        case 6: w[0] = w[1] = 0; w[4] = w[5] = w[6] = 0; break; /* the longer run wins */
        case 7: for (int i = 0; i < 8; i++) w[i] = (uint16_t)below(0x120); break; /* short words, zeros */
        case 8: w[6] = w[7] = 0; break;                  /* a run at the end */
        }
        /* glibc writes these with a dotted IPv4 tail (::a.b.c.d, ::ffff:a.b.c.d); leave them out. */
        int v4tail = !w[0] && !w[1] && !w[2] && !w[3] && !w[4] && ((!w[5] && w[6]) || w[5] == 0xffff);
        if (!v4tail) break;
    }
    for (int i = 0; i < 8; i++) { p[2 * i] = (unsigned char)(w[i] >> 8); p[2 * i + 1] = (unsigned char)w[i]; }
}
static void fill_pc(PC *s, int v6) {
    fill_header(&s->Header, sizeof *s);
    size_t n = v6 ? 16 : 4;
    unsigned char *src = alloc(n, 1), *dst = alloc(n, 1);
    if (v6) { ip6(src); ip6(dst); } else { ip4(src); ip4(dst); }
    s->SourceAddress = src;
    s->DestinationAddress = dst;
}
static void fill_pca(PCA *s) {
    fill_header(&s->Header, sizeof *s);
    s->PathMtu = (uint32_t)val(32);
}
static void fill_pd(PD *s) { fill_header(&s->Header, sizeof *s); }
static void fill_tc(TC *s) {
    fill_header(&s->Header, sizeof *s);
    s->Flags = (uint16_t)val(16);
    s->RemotePort = (uint16_t)val(16);
    s->LocalPort = (uint16_t)val(16);
    s->SndWindScale = (uint8_t)val(4);
    s->RcvWindScale = (uint8_t)val(4);
    s->RemoteMss = (uint16_t)val(16);
    s->HashValue = (uint32_t)val(32);
}
static void fill_tca(TCA *s) {
    fill_header(&s->Header, sizeof *s);
    s->Flags = (uint16_t)val(16);
    s->InitialRcvWnd = (uint32_t)val(32);
    s->RcvIndicationSize = (uint32_t)val(32);
    s->KaProbeCount = (uint8_t)val(8);
    s->KaTimeout = (uint32_t)val(32);
    s->KaInterval = (uint32_t)val(32);
    s->MaxRT = (uint32_t)val(32);
    s->FlowLabel = (uint32_t)val(20);
    s->TtlOrHopLimit = (uint8_t)val(8);
    s->TosOrTrafficClass = (uint8_t)val(8);
    s->UserPriority = (uint8_t)val(3);
}
static void fill_td(TD *s) {
    fill_header(&s->Header, sizeof *s);
    s->State = (enum TCP_OFFLOAD_CONNECTION_STATE)(below(6) ? below(12) : (unsigned)val(32));
    s->Flags = (uint16_t)val(16);
    s->RcvNxt = (uint32_t)val(32);
    s->RcvWnd = (uint32_t)val(32);
    s->SndUna = (uint32_t)val(32);
    s->SndNxt = (uint32_t)val(32);
    s->SndMax = (uint32_t)val(32);
    s->SndWnd = (uint32_t)val(32);
    s->MaxSndWnd = (uint32_t)val(32);
    s->SendWL1 = (uint32_t)val(32);
    s->CWnd = (uint32_t)val(32);
    s->SsThresh = (uint32_t)val(32);
    s->SRtt = (uint16_t)val(16);
    s->RttVar = (uint16_t)val(16);
    s->TsRecent = (uint32_t)val(32);
    s->TsRecentAge = (uint32_t)val(32);
    s->TsTime = (uint32_t)val(32);
    s->TotalRT = (uint32_t)val(32);
    s->DupAckCount = (uint8_t)val(8);
    s->SndWndProbeCount = (uint8_t)val(8);
    s->KeepAlive.ProbeCount = (uint8_t)val(8);
    s->KeepAlive.TimeoutDelta = (uint32_t)val(32);
    s->Retransmit.Count = (uint8_t)val(8);
    s->Retransmit.TimeoutDelta = (uint32_t)val(32);
    /* The unions: one alternative is set, the rest of their bytes keep what was there. */
    if (below(2)) {
        s->SendDataHead = (struct NET_BUFFER_LIST *)ptrval();
        s->SendDataTail = (struct NET_BUFFER_LIST *)ptrval();
    } else {
        s->SendBacklogSize = (uint32_t)val(32);
    }
    if (below(2)) s->BufferedData = (struct NET_BUFFER_LIST *)ptrval();
    else s->ReceiveBacklogSize = (uint32_t)val(32);
#if NDIS61
    s->DWnd = (uint32_t)val(32);
#endif
}

static void fill_state(int type, unsigned char *p) {
    switch (type) {
    case 1: fill_nc((NC *)p); break;
    case 2: fill_nca((NCA *)p); break;
    case 3: fill_nd((ND *)p); break;
    case 4: { NALL *a = (NALL *)p; fill_nc(&a->c); fill_nca(&a->ca); fill_nd(&a->d); break; }
    case 5: case 9: fill_pc((PC *)p, type == 9); break;
    case 6: case 10: fill_pca((PCA *)p); break;
    case 7: case 11: fill_pd((PD *)p); break;
    case 8: case 12: { PALL *a = (PALL *)p; fill_pc(&a->c, type == 12); fill_pca(&a->ca); fill_pd(&a->d); break; }
    case 13: fill_tc((TC *)p); break;
    case 14: fill_tca((TCA *)p); break;
    case 15: fill_td((TD *)p); break;
    case 17: { TALL *a = (TALL *)p; fill_tc(&a->c); fill_tca(&a->ca); fill_td(&a->d); break; }
    default: fail("no state for this type");
    }
}

static size_t state_align(int type) {
    switch (type) {
    case 1: return _Alignof(NC);
    case 2: return _Alignof(NCA);
    case 3: return _Alignof(ND);
    case 4: return _Alignof(NALL);
    case 5: case 9: return _Alignof(PC);
    case 6: case 10: return _Alignof(PCA);
    case 7: case 11: return _Alignof(PD);
    case 8: case 12: return _Alignof(PALL);
    case 13: return _Alignof(TC);
    case 14: return _Alignof(TCA);
    case 15: return _Alignof(TD);
    default: return _Alignof(TALL);
    }
}

/* A block of a layer, Type and role for an operation; its state right after it, when it carries one. */
static BL *mk(int op, int layer, int type, int role) {
    int st = state_follows(role, op);
    size_t ssz = st ? state_size(type) : 0;
    if (st && ssz == 0) fail("a block that carries state has a Type without state");
    BL *b = alloc(sizeof(BL) + ssz, _Alignof(BL));
    b->Header.Type = (uint8_t)type;
    b->Header.Revision = (uint8_t)val(8);
    b->Header.Size = (uint16_t)sizeof(BL);
    b->NextBlock = NULL;
    b->DependentBlockList = NULL;
    b->Status = role == PLACEHOLDER ? PICK(ANY_STATUS) : op == OP_INITIATE ? PICK(INITIATE_OK) : PICK(DONE_OK);
    b->NdisReserved[0] = ptrval();
    b->NdisReserved[1] = ptrval();
    b->NdisOffloadHandle = ptrval();
    b->ProtocolReserved[0] = ptrval();
    b->ProtocolReserved[1] = ptrval();
    b->MiniportReserved[0] = ptrval();
    b->MiniportReserved[1] = ptrval();
    b->ImReserved[0] = ptrval();
    b->ImReserved[1] = ptrval();
    b->Scratch[0] = ptrval();
    b->Scratch[1] = ptrval();
    b->SourceHandle = ptrval();
    b->PortNumber = (uint32_t)val(32);
    b->NetBufferListChain = (struct NET_BUFFER_LIST *)ptrval();
    if (st) {
        unsigned char *state = (unsigned char *)b + sizeof(BL);
        if ((uintptr_t)state % state_align(type)) fail("the state after a block is misaligned");
        fill_state(type, state);
    }
    if (role == PLACEHOLDER) {
        b->MiniportOffloadContext = NULL;
    } else {
        void **cell = alloc(sizeof(void *), _Alignof(void *));
        *cell = role == LINKER ? nonnull_ptr() : NULL;
        b->MiniportOffloadContext = cell;
    }
    if (nmetas == (int)(sizeof metas / sizeof metas[0])) fail("too many blocks");
    metas[nmetas++] = (struct meta){ b, layer, role, op, st };
    return b;
}

struct root { const char *name; int op; const BL *b; };
static struct root roots[256];
static int nroots;
static void add_root(const char *name, int op, const BL *b) {
    if (nroots == (int)(sizeof roots / sizeof roots[0])) fail("too many trees");
    roots[nroots++] = (struct root){ name, op, b };
}

/* ---- JSON out ---- */
static int comma;
static void key(const char *k) {
    if (comma) putchar(',');
    if (k) printf("\"%s\":", k);
    comma = 0;
}
static void begin(const char *k, char open) { key(k); putchar(open); comma = 0; }
static void end(char close) { putchar(close); comma = 1; }
static void num_u(const char *k, unsigned long long v) { key(k); printf("%llu", v); comma = 1; }
static void num_i(const char *k, long long v) { key(k); printf("%lld", v); comma = 1; }
static void str(const char *k, const char *s) { key(k); printf("\"%s\"", s); comma = 1; }
static void ptr(const char *k, const void *p) {
    key(k);
    printf("\"0x%0*llx\"", (int)(2 * sizeof(void *)), (unsigned long long)(uintptr_t)p);
    comma = 1;
}
static void bytes(const char *k, const unsigned char *p, size_t n) {
    key(k);
    putchar('"');
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
    putchar('"');
    comma = 1;
}
#define U(s, m) num_u(#m, (unsigned long long)(s)->m)
#define P(s, m) ptr(#m, (const void *)(s)->m)
#define BYTES(s, m) bytes(#m, (s)->m, sizeof (s)->m)
#define PTRS(s, m) do { begin(#m, '['); for (size_t i_ = 0; i_ < sizeof (s)->m / sizeof (s)->m[0]; i_++) ptr(NULL, (s)->m[i_]); end(']'); } while (0)

static void status(const char *k, int32_t v) {
    char unknown[32];
    const char *name = NULL;
    for (size_t i = 0; i < sizeof STATUS_NAMES / sizeof STATUS_NAMES[0]; i++) if (STATUS_NAMES[i].value == v) name = STATUS_NAMES[i].name;
    if (!name) { snprintf(unknown, sizeof unknown, "unknown (0x%08x)", (unsigned)(uint32_t)v); name = unknown; }
    begin(k, '{');
    num_i("value", v);
    key("hex"); printf("\"0x%08x\"", (unsigned)(uint32_t)v); comma = 1;
    str("name", name);
    end('}');
}

static void pr_header(const SH *h) { begin("Header", '{'); U(h, Length); U(h, RecognizedOptions); end('}'); }
static void pr_nc(const NC *s) { begin("NEIGHBOR_OFFLOAD_STATE_CONST", '{'); pr_header(&s->Header); BYTES(s, DlSourceAddress); U(s, VlanId); end('}'); }
static void pr_nca(const NCA *s) { begin("NEIGHBOR_OFFLOAD_STATE_CACHED", '{'); pr_header(&s->Header); BYTES(s, DlDestinationAddress); U(s, HostReachabilityDelta); end('}'); }
static void pr_nd(const ND *s) { begin("NEIGHBOR_OFFLOAD_STATE_DELEGATED", '{'); pr_header(&s->Header); U(s, NicReachabilityDelta); end('}'); }
static void pr_ip(const char *k, const unsigned char *p, int v6) {
    char text[64];
    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, p, text, sizeof text)) fail("inet_ntop");
    str(k, text);
}
static void pr_pc(const PC *s, int v6) {
    begin("PATH_OFFLOAD_STATE_CONST", '{');
    pr_header(&s->Header);
    P(s, SourceAddress);
    P(s, DestinationAddress);
    pr_ip("*SourceAddress", s->SourceAddress, v6);
    pr_ip("*DestinationAddress", s->DestinationAddress, v6);
    end('}');
}
static void pr_pca(const PCA *s) { begin("PATH_OFFLOAD_STATE_CACHED", '{'); pr_header(&s->Header); U(s, PathMtu); end('}'); }
static void pr_pd(const PD *s) { begin("PATH_OFFLOAD_STATE_DELEGATED", '{'); pr_header(&s->Header); end('}'); }
static void pr_tc(const TC *s) {
    begin("TCP_OFFLOAD_STATE_CONST", '{');
    pr_header(&s->Header);
    U(s, Flags); U(s, RemotePort); U(s, LocalPort); U(s, SndWindScale); U(s, RcvWindScale); U(s, RemoteMss); U(s, HashValue);
    end('}');
}
static void pr_tca(const TCA *s) {
    begin("TCP_OFFLOAD_STATE_CACHED", '{');
    pr_header(&s->Header);
    U(s, Flags); U(s, InitialRcvWnd); U(s, RcvIndicationSize); U(s, KaProbeCount); U(s, KaTimeout); U(s, KaInterval);
    U(s, MaxRT); U(s, FlowLabel); U(s, TtlOrHopLimit); U(s, TosOrTrafficClass); U(s, UserPriority);
    end('}');
}
static void pr_td(const TD *s) {
    char unknown[32];
    const char *name = connection_state(s->State);
    if (!name) { snprintf(unknown, sizeof unknown, "unknown (%u)", (unsigned)s->State); name = unknown; }
    begin("TCP_OFFLOAD_STATE_DELEGATED", '{');
    pr_header(&s->Header);
    begin("State", '{'); num_u("value", (unsigned)s->State); str("name", name); end('}');
    U(s, Flags); U(s, RcvNxt); U(s, RcvWnd); U(s, SndUna); U(s, SndNxt); U(s, SndMax); U(s, SndWnd); U(s, MaxSndWnd);
    U(s, SendWL1); U(s, CWnd); U(s, SsThresh); U(s, SRtt); U(s, RttVar); U(s, TsRecent); U(s, TsRecentAge); U(s, TsTime);
    U(s, TotalRT); U(s, DupAckCount); U(s, SndWndProbeCount);
    begin("KeepAlive", '{'); U(&s->KeepAlive, ProbeCount); U(&s->KeepAlive, TimeoutDelta); end('}');
    begin("Retransmit", '{'); U(&s->Retransmit, Count); U(&s->Retransmit, TimeoutDelta); end('}');
    P(s, SendDataHead); P(s, SendDataTail); U(s, SendBacklogSize);
    P(s, BufferedData); U(s, ReceiveBacklogSize);
#if NDIS61
    U(s, DWnd);
#endif
    end('}');
}
static void pr_state(int type, const unsigned char *p) {
    begin("state", '{');
    switch (type) {
    case 1: pr_nc((const NC *)p); break;
    case 2: pr_nca((const NCA *)p); break;
    case 3: pr_nd((const ND *)p); break;
    case 4: { const NALL *a = (const NALL *)p; pr_nc(&a->c); pr_nca(&a->ca); pr_nd(&a->d); break; }
    case 5: case 9: pr_pc((const PC *)p, type == 9); break;
    case 6: case 10: pr_pca((const PCA *)p); break;
    case 7: case 11: pr_pd((const PD *)p); break;
    case 8: case 12: { const PALL *a = (const PALL *)p; pr_pc(&a->c, type == 12); pr_pca(&a->ca); pr_pd(&a->d); break; }
    case 13: pr_tc((const TC *)p); break;
    case 14: pr_tca((const TCA *)p); break;
    case 15: pr_td((const TD *)p); break;
    case 17: { const TALL *a = (const TALL *)p; pr_tc(&a->c); pr_tca(&a->ca); pr_td(&a->d); break; }
    }
    end('}');
}

static void pr_block(const BL *b, const char *path, int depth) {
    const struct meta *m = meta_of(b);
    if (!m) fail("a link leads to a block that was not built");
    if (m->layer != depth) fail("a block is linked at the wrong layer");
    char type[32];
    int t = b->Header.Type;
    if (t < (int)(sizeof TYPE_NAMES / sizeof TYPE_NAMES[0]) && TYPE_NAMES[t]) snprintf(type, sizeof type, "%s", TYPE_NAMES[t]);
    else if (t == 0xFE) snprintf(type, sizeof type, "FilterReservedOffloadState");
    else if (t == 0xFF) snprintf(type, sizeof type, "MaximumOffloadState");
    else snprintf(type, sizeof type, "unknown (%d)", t);
    begin(NULL, '{');
    str("path", path);
    ptr("address", b);
    num_u("offset", (unsigned long long)((const unsigned char *)b - arena));
    str("layer", LAYER_NAMES[m->layer]);
    str("role", ROLE_NAMES[m->role]);
    str("type", type);
    begin("Header", '{'); U(&b->Header, Type); U(&b->Header, Revision); U(&b->Header, Size); end('}');
    P(b, NextBlock);
    P(b, DependentBlockList);
    status("Status", b->Status);
    PTRS(b, NdisReserved);
    P(b, MiniportOffloadContext);
    if (b->MiniportOffloadContext) ptr("*MiniportOffloadContext", *b->MiniportOffloadContext);
    P(b, NdisOffloadHandle);
    PTRS(b, ProtocolReserved);
    PTRS(b, MiniportReserved);
    PTRS(b, ImReserved);
    PTRS(b, Scratch);
    P(b, SourceHandle);
    U(b, PortNumber);
    P(b, NetBufferListChain);
    if (m->state) pr_state(t, (const unsigned char *)b + sizeof(BL));
    end('}');
}

/* Preorder, as the tree is read: a block, its dependents, then the next block of its layer. */
static void pr_list(const BL *b, const char *prefix, int depth) {
    char path[512], deps[600];
    for (int i = 0; b; b = b->NextBlock, i++) {
        if (depth > 2) fail("a TCP block has dependents");
        snprintf(path, sizeof path, "%s[%d]", prefix, i);
        pr_block(b, path, depth);
        snprintf(deps, sizeof deps, "%s.dependents", path);
        pr_list(b->DependentBlockList, deps, depth + 1);
    }
}

/* ---- status mode: arena bytes from a file, the Status of every block, walked in C ---- */
static size_t loaded;
static long walked;
static int readable(const void *p, size_t n) {
    uintptr_t a = (uintptr_t)p, s = (uintptr_t)arena;
    return a >= s && a - s <= loaded && loaded - (a - s) >= n;
}
static void status_list(const BL *b, const char *prefix, int depth) {
    char path[512], deps[600];
    for (int i = 0; b; b = b->NextBlock, i++) {
        snprintf(path, sizeof path, "%s[%d]", prefix, i);
        begin(NULL, '{');
        str("path", path);
        ptr("address", b);
        if (!readable(b, sizeof *b) || depth > 2 || ++walked > 100000) {
            str("error", !readable(b, sizeof *b) ? "the block is not in the arena bytes" : depth > 2 ? "a TCP block has dependents" : "too many blocks");
            end('}');
            return;
        }
        status("Status", b->Status);
        end('}');
        snprintf(deps, sizeof deps, "%s.dependents", path);
        status_list(b->DependentBlockList, deps, depth + 1);
    }
}

int main(int argc, char **argv) {
    /* Junk everywhere first: padding, gaps and the untouched bits of bit-field units keep it. */
    for (size_t i = 0; i < sizeof arena; i++) arena[i] = (unsigned char)rnd64();
    build();
    if (argc == 3 && strcmp(argv[1], "status") == 0) {
        FILE *f = fopen(argv[2], "rb");
        if (!f) fail("cannot open the arena bytes");
        loaded = fread(arena, 1, sizeof arena, f);
        if (fgetc(f) != EOF) fail("more bytes than the arena holds");
        fclose(f);
        begin(NULL, '{');
        ptr("base", arena);
        num_u("length", loaded);
        begin("trees", '[');
        for (int r = 0; r < nroots; r++) {
            begin(NULL, '{');
            str("name", roots[r].name);
            ptr("root", roots[r].b);
            begin("blocks", '[');
            status_list(roots[r].b, "blocks", 0);
            end(']');
            end('}');
        }
        end(']');
        end('}');
        putchar('\n');
        return 0;
    }
    if (argc != 1) fail("usage: c-trees [status FILE]");
    printf("BASE 0x%llx USED %llu\n", (unsigned long long)(uintptr_t)arena, (unsigned long long)used);
    for (size_t i = 0; i < used; i++) printf("%02x", arena[i]);
    putchar('\n');
    begin(NULL, '{');
    str("abi", sizeof(void *) == 8 ? "x64" : "x86");
    num_u("ndis", NDIS61 ? 61 : 60);
    num_u("blockSize", sizeof(BL));
    begin("trees", '[');
    for (int r = 0; r < nroots; r++) {
        begin(NULL, '{');
        str("name", roots[r].name);
        str("operation", OP_NAMES[roots[r].op]);
        ptr("root", roots[r].b);
        begin("blocks", '[');
        pr_list(roots[r].b, "blocks", 0);
        end(']');
        end('}');
    }
    end(']');
    end('}');
    putchar('\n');
    return 0;
}
`;

export interface CTreeOptions {
  trees?: CTreeSpec[];
  /** Seed of the C program's value sequence. */
  seed?: bigint;
  /**
   * Where the linker puts the arena (default: high, so that addresses have the top bit of 32 set
   * on x86 and bits above 32 on x64); null lets the linker choose (low, next to the program's data).
   */
  arenaAddress?: bigint | null;
}

/** Default arena addresses: x86's top half, and x64 user space far above 4 GiB. */
export const ARENA_ADDRESS = { x64: 0x7fe012340000n, x86: 0xc1230000n } as const;

/** The C source of the tree program for an ABI and NDIS revision. */
export function treeProgramSource(abi: Abi, ndis: NdisRevision, options: CTreeOptions = {}): string {
  const trees = options.trees ?? defaultTrees();
  const seed = options.seed ?? 0x0ff10adn;
  return [
    '#define _POSIX_C_SOURCE 200809L',
    '#include <stdio.h>',
    '#include <stdlib.h>',
    '#include <string.h>',
    '#include <stdint.h>',
    '#include <arpa/inet.h>',
    '#include <sys/socket.h>',
    '',
    cDeclarations(abi, ndis),
    `#define NDIS61 ${ndis === '6.1' ? 1 : 0}`,
    `#define SEED 0x${seed.toString(16)}ULL`,
    'static void build(void);',
    PROGRAM,
    ...trees.map((t, i) => treeFunction(t, i)),
    `static void build(void) {\n${trees.map((_, i) => `    tree_${i}();`).join('\n')}\n}`,
    '',
  ].join('\n');
}

// ---- compiling and running ------------------------------------------------------------------

/**
 * Flags of test/support/cc.ts, and no PIE: the arena must lie at the same address on every run.
 * (-mcmodel=large on x64 when the arena is placed above the 2 GiB the default code model reaches.)
 */
const FLAGS = ['-std=c11', '-mms-bitfields', '-O0', '-no-pie', '-fno-pie'];

/** How to execute a compiled program of this ABI here: directly, or under qemu-i386 (cc.ts decides). */
function launcher(abi: Abi): string[] {
  requireTarget(abi, true); // throws, loudly, when x86 programs cannot run here at all
  return launcherFor(abi);
}

/** For `describe.skipIf`: cc.ts's `gate(abi, 'run')`, naming qemu when x86 runs under it. */
export function treeGate(abi: Abi): { skip: boolean; note: string } {
  const g = gate(abi, 'run');
  return !g.skip && launcherFor(abi).length ? { skip: false, note: ' (under qemu-i386)' } : g;
}

export interface TreeProgram {
  readonly abi: Abi;
  readonly ndis: NdisRevision;
  readonly source: string;
  /** The compiled program (kept until `dispose`). */
  readonly binary: string;
  dispose(): void;
}

/** Compiles the tree program once; run it with `runTrees` and `readStatuses`. */
export function compileTreeProgram(abi: Abi, ndis: NdisRevision, options: CTreeOptions = {}): TreeProgram {
  requireTarget(abi);
  const source = treeProgramSource(abi, ndis, options);
  const dir = mkdtempSync(join(tmpdir(), 'ndis-trees-'));
  writeFileSync(join(dir, 'trees.c'), source);
  const binary = join(dir, 'trees');
  const at = options.arenaAddress === undefined ? ARENA_ADDRESS[abi.name] : options.arenaAddress;
  const placement = at === null ? [] : [`-Wl,--section-start=.arena=0x${at.toString(16)}`, ...(abi.name === 'x64' ? ['-mcmodel=large'] : [])];
  const r = spawnSync('gcc', [...FLAGS, ...(abi.name === 'x86' ? ['-m32'] : []), ...placement, '-o', binary, 'trees.c'], { cwd: dir, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`gcc (${abi.name}) rejected the tree program:\n${r.error?.message ?? r.stderr}\n(source kept in ${dir})`);
  }
  return { abi, ndis, source, binary, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

function execute(program: TreeProgram, args: string[]): string {
  const [cmd, ...pre] = [...launcher(program.abi), program.binary];
  const r = spawnSync(cmd!, [...pre, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 60_000 });
  if (r.error || r.status !== 0) {
    throw new Error(`the tree program (${program.abi.name}, NDIS ${program.ndis}) failed: ${r.error?.message ?? (`${r.stderr}`.trim() || `exit status ${r.status}`)}`);
  }
  return r.stdout;
}

// ---- what the program reports ---------------------------------------------------------------

/** One block as C read it: the decoder's block JSON, member for member, with its path. */
export interface CBlockReport {
  path: string;
  address: string;
  offset: number;
  layer: string;
  role: CRole;
  type: string;
  state?: Record<string, Record<string, unknown>>;
  [member: string]: unknown;
}

export interface CTreeReport {
  name: string;
  operation: Operation;
  root: string;
  /** Every block in tree order (preorder: a block, its dependents, its next block). */
  blocks: CBlockReport[];
}

export interface TreeRun {
  /** Address of the arena's first byte. */
  base: bigint;
  /** The arena bytes the trees use: [base, base + bytes.length). */
  bytes: Uint8Array;
  abi: string;
  ndis: number;
  blockSize: number;
  trees: CTreeReport[];
}

/** Runs the program: it builds every tree and reports the arena and every block. */
export function runTrees(program: TreeProgram): TreeRun {
  const out = execute(program, []).split('\n');
  const head = /^BASE 0x([0-9a-f]+) USED (\d+)$/.exec(out[0] ?? '');
  if (!head || out.length < 3) throw new Error(`unexpected output from the tree program: ${out[0]?.slice(0, 200)}`);
  const hex = out[1]!;
  const used = Number(head[2]);
  if (hex.length !== used * 2) throw new Error(`the tree program printed ${hex.length / 2} arena bytes, said ${used}`);
  const report = JSON.parse(out[2]!) as Omit<TreeRun, 'base' | 'bytes'>;
  return { ...report, base: BigInt(`0x${head[1]}`), bytes: Uint8Array.from(Buffer.from(hex, 'hex')) };
}

export interface CStatusReport {
  base: string;
  length: number;
  trees: {
    name: string;
    root: string;
    /** Every block in tree order, or an `error` where the walk had to stop. */
    blocks: { path: string; address: string; Status?: { value: number; hex: string; name: string }; error?: string }[];
  }[];
}

/**
 * A second run of the same program: it builds the trees again (so it knows their roots), then
 * loads `bytes` into the arena at the same address, walks each tree through the pointers in
 * those bytes and prints every block's Status. For checking what a status writer wrote.
 */
export function readStatuses(program: TreeProgram, bytes: Uint8Array): CStatusReport {
  const dir = mkdtempSync(join(tmpdir(), 'ndis-arena-'));
  try {
    const file = join(dir, 'arena.bin');
    writeFileSync(file, bytes);
    return JSON.parse(execute(program, ['status', file])) as CStatusReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
