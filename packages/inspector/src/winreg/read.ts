/**
 * virt-win-reg's read side: export a key and its subtree in the .reg dialect of
 * Win::Hivex::Regedit reg_export (no "Windows Registry Editor" header), or print one value the
 * way hivexget does (strings as text, numbers in decimal, MULTI_SZ one per line, other types raw).
 */
import { NotFoundError } from '@guestkit/disk/binary';
import { exportReg, formatValueRaw } from '@guestkit/hive';
import { WinRegCode } from './codes.js';
import type { RegistrySession } from './session.js';

export interface ExportKeyOptions {
  /** REG_SZ/REG_EXPAND_SZ as str(N):"…" (lossy; virt-win-reg --unsafe-printable-strings). */
  unsafePrintableStrings?: boolean;
}

/**
 * Export `path` (HKLM\…, HKU\…) recursively to `out`, byte for byte what virt-win-reg prints.
 * @throws UsageError(WINREG_UNSUPPORTED_PATH), NotFoundError(WINREG_NO_SUCH_KEY / WINREG_NO_HIVE_FILE)
 */
export function exportKey(session: RegistrySession, path: string, out: (chunk: Uint8Array) => void, opts: ExportKeyOptions = {}): void {
  const k = session.resolve(path);
  const node = session.requireKey(k);
  exportReg(k.hive.gh.hive, node, out, { prefix: k.mapped.prefix, header: false, unsafePrintableStrings: Boolean(opts.unsafePrintableStrings) });
}

/**
 * One value as hivexget prints it ("@" or "" is the default value).
 * @throws NotFoundError(WINREG_NO_SUCH_VALUE) and what exportKey throws
 */
export function getValue(session: RegistrySession, path: string, name: string): string | Uint8Array {
  const k = session.resolve(path);
  const node = session.requireKey(k);
  const h = k.hive.gh.hive;
  const v = h.value(node, name === '@' ? '' : name);
  if (v === undefined) {
    throw new NotFoundError(WinRegCode.NoSuchValue, `${path}: value ${JSON.stringify(name)} not found`, { path, value: name });
  }
  return formatValueRaw(h.valueType(v), h.valueBytes(v));
}
