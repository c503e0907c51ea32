export * from './guest.js';
export * from './device-names.js';
