import { createRequire } from 'node:module';

/**
 * node:zlib, loaded on first use (a compressed qcow2 cluster read or written): it pulls in node's
 * stream code, ~5 ms of start-up that commands on plain images never need.
 */
let loaded: typeof import('node:zlib') | undefined;
export function zlib(): typeof import('node:zlib') {
  return (loaded ??= createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib'));
}
