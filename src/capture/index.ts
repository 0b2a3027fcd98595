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
