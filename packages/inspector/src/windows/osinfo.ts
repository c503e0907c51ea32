/**
 * libosinfo short ids for Windows guests, as libguestfs computes them
 * (lib/inspect-osinfo.c, guestfs_impl_inspect_get_osinfo). "Server" means that the
 * product variant (InstallationType) contains "Server"; product name and variant are the
 * strings libguestfs reports ("unknown" when absent).
 */
export interface OsinfoInput {
  majorVersion: number;
  minorVersion: number;
  /** ProductName, or undefined when absent. */
  productName?: string;
  /** InstallationType, or undefined when absent. */
  productVariant?: string;
  /** CurrentBuildNumber, or undefined when absent. */
  buildId?: string;
}

/** The rule of libguestfs 1.48 (what Debian 12's virt-inspector prints): no win11, no win2k25. */
export function osinfoLibguestfs148(f: OsinfoInput): string | undefined {
  const name = f.productName ?? 'unknown';
  const server = (f.productVariant ?? 'unknown').includes('Server');
  switch (f.majorVersion) {
    case 5:
      if (f.minorVersion === 1) return 'winxp';
      if (f.minorVersion === 2) return name.includes('XP') ? 'winxp' : name.includes('R2') ? 'win2k3r2' : 'win2k3';
      return undefined;
    case 6:
      switch (f.minorVersion) {
        case 0: return server ? 'win2k8' : 'winvista';
        case 1: return server ? 'win2k8r2' : 'win7';
        case 2: return server ? 'win2k12' : 'win8';
        case 3: return server ? 'win2k12r2' : 'win8.1';
        default: return undefined;
      }
    case 10:
      if (f.minorVersion !== 0) return undefined;
      if (server) return name.includes('2022') ? 'win2k22' : name.includes('2019') ? 'win2k19' : 'win2k16';
      return 'win10';
    default:
      return undefined;
  }
}

/**
 * The rule of current libguestfs (win2k25 by product name; Windows 11 told apart from
 * Windows 10 by build number >= 22000, because Windows 11 still calls itself "Windows 10" in
 * ProductName). Upstream fails the whole call when a 10.0 client has no parsable build
 * number; here that case falls back to win10.
 */
export function osinfoLatest(f: OsinfoInput): string | undefined {
  if (f.majorVersion === 10 && f.minorVersion === 0) {
    const name = f.productName ?? 'unknown';
    if ((f.productVariant ?? 'unknown').includes('Server')) {
      if (name.includes('2025')) return 'win2k25';
      return osinfoLibguestfs148(f);
    }
    const build = parseUnsigned(f.buildId);
    return build !== undefined && build >= 22000 ? 'win11' : 'win10';
  }
  return osinfoLibguestfs148(f);
}

/** guestfs_int_parse_unsigned_int: a decimal number, nothing else. */
function parseUnsigned(s: string | undefined): number | undefined {
  if (s === undefined || !/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) && n <= 0x7fffffff ? n : undefined;
}
