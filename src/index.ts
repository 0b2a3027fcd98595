export * from './errors.js';
export * from './layout/index.js';
export * from './codec/index.js';
export * from './tree/index.js';
export * from './capture/index.js';
