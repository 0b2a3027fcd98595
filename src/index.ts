export * from './errors.js';
export * from './layout/index.js';
export * from './codec/index.js';
// The specs for other tools (Kaitai Struct, ImHex, Volatility 3); the rest of src/export is theirs.
export { DEFAULT_BASE, EXPORT_FORMATS, exportSpec, type ExportFormat, type ExportOptions } from './export/index.js';
export * from './tree/index.js';
export * from './capture/index.js';
