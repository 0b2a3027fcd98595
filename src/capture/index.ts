export { type Reader, type BlobLike, type FileReaderSyncLike, BlobReader, openFileReader, bufferReader, asByteSource } from './reader.js';
export { type PhysicalRange, type AbsentRange, RangeMemory } from './physical-ranges.js';
export { type CaptureFormat, type CpuState, type CaptureInfo, type OpenSourceOptions, CaptureMemory } from './source.js';
export { openCaptureSource, sniffSource, SOURCE_FORMATS } from './open.js';
export { LIME_MAGIC, LIME_HEADER, LIME_MAX_RANGES, isLime, openLime } from './sources/lime.js';
export { ELF_MAX_PHDRS, ELF_MAX_NOTES_BYTES, QEMU_CPU, VBOX_CPU, VBOX_CORE, isElf, openElfCore } from './sources/elf-core.js';
export {
  type PagingMode,
  type DtbSource,
  type DtbEvidence,
  type DtbCandidate,
  type DtbFound,
  type DtbStrategy,
  type SelfMapHit,
  type FindDtbOptions,
  X64_STRATEGY,
  DTB_STRATEGIES,
  SELF_MAP_WINDOWS,
  findDtb,
} from './dtb.js';
