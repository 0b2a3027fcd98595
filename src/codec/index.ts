export * from './image.js';
export * from './struct-io.js';
export * from './view-base.js';
export * from './views.js';
export * from './restructure.js';
