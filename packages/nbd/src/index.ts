export { NbdServer, NBD_PORT, type NbdExport, type NbdServerOptions, type ListenTarget, type ListenInfo } from './server.js';
export { errnoFor, type DeviceExtras } from './connection.js';
export { NbdCode } from './errors.js';
export * as protocol from './protocol.js';
export { withThreadPoolReads } from './file-reads.js';
