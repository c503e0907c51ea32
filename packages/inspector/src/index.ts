export * from './guest/index.js';
