export * from './decode.js';
export * from './document.js';
export * from './encode.js';
export * from './ip.js';
export * from './roles.js';
export * from './state.js';
export * from './status-writer.js';
