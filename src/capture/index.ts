export { type Reader, type BlobLike, type FileReaderSyncLike, BlobReader, openFileReader, bufferReader, asByteSource } from './reader.js';
export { type PhysicalRange, type AbsentRange, RangeMemory } from './physical-ranges.js';
export { type CaptureFormat, type CpuState, type CaptureInfo, type OpenSourceOptions, CaptureMemory } from './source.js';
export {
  type AddressSpaceFactory,
  type Capture,
  type CaptureRange,
  type CaptureRecognizer,
  type DiscoveredDtb,
  type DiscoveryContext,
  type DtbChoice,
  type DtbDiscoverer,
  type DtbDiscoveryMethod,
  type DtbSource,
  type OpenCaptureOptions,
  type PagingMode,
  type PhysicalCapture,
  type SniffContext,
  ADDRESS_SPACES,
  CAPTURE_FORMATS,
  DTB_DISCOVERY,
  HEAD_BYTES,
  KUSER_SHARED_DATA,
  PAGING_NAMES,
  SOURCE_FORMATS,
  captureAddressSpace,
  openCaptureImage,
  openCaptureSource,
  openPhysicalCapture,
  recognizeCapture,
  regionCapture,
  registerAddressSpace,
  registerCaptureFormat,
  registerDtbDiscovery,
  sniffContext,
  sniffSource,
} from './open.js';
export { LIME_MAGIC, LIME_HEADER, LIME_MAX_RANGES, isLime, openLime } from './sources/lime.js';
export { ELF_MAX_PHDRS, ELF_MAX_NOTES_BYTES, QEMU_CPU, VBOX_CPU, VBOX_CORE, isElf, openElfCore } from './sources/elf-core.js';
export { type X86Paging, type X86ImageOptions, X86PagedImage, tableAddressOf } from './address-spaces/x86-paging.js';
export { HDR32, BMP32, MAX_RUNS32, MAX_BITMAP_PAGES32, MACHINE_X86, type Dump32Info, type Dump32Options, Dump32, isDump32, openDump32, openDump32File } from './sources/dump32.js';
export {
  VMWARE_BLOCK,
  VMWARE_BLOCK_COMPRESSED,
  VMWARE_CR64,
  VMWARE_GROUP,
  VMWARE_HEADER,
  VMWARE_MAGICS,
  VMWARE_MAX_CPUS,
  VMWARE_MAX_GROUPS,
  VMWARE_MAX_REGIONS,
  isVmwareState,
  openVmware,
  vmwareMemoryFileFor,
  vmwareStateFileFor,
} from './sources/vmware.js';
export { type Refusal, REFUSED_HEAD_BYTES, recogniseRefused, refusalError, refusalForName, refuseKnown } from './sources/refused.js';
export {
  type DtbEvidence,
  type DtbCandidate,
  type DtbFound,
  type DtbStrategy,
  type FrameLookup,
  type SelfMapHit,
  type FindDtbOptions,
  X64_STRATEGY,
  PAE_STRATEGY,
  NON_PAE_STRATEGY,
  ALL_DTB_STRATEGIES,
  DTB_STRATEGIES,
  SELF_MAP_WINDOWS,
  X86_SELF_MAP_WINDOWS,
  findDtb,
} from './dtb.js';
