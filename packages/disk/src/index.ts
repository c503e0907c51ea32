export * from './binary/index.js';
export * from './device/block-device.js';
export * from './device/memory-device.js';
export * from './device/slice-device.js';
export * from './device/file-device.js';
export * from './fs/file-system.js';
