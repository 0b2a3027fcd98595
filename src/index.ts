export * from './errors.js';
export * from './layout/index.js';
