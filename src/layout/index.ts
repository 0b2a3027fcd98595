export * from './abi.js';
export * from './constants.js';
export * from './descriptor.js';
export * from './describe.js';
export * from './msvc.js';
export * from './registry.js';
export * from './c-decl.js';
export * from './markdown.js';
