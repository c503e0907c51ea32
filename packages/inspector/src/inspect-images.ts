/**
 * Inspect disk images by path: open them together as one guest (sda, sdb, ... in the order
 * given, like `virt-inspector -a A -a B`), inspect, close.
 */
import { NotFoundError } from '@guestkit/disk/binary';
import { Guest, type GuestOpenOptions } from './guest/index.js';
import { InspectCode } from './errors.js';
import { inspectGuest, type InspectionReport, type InspectOptions } from './inspect.js';

export interface InspectImagesOptions extends InspectOptions {
  /** Image format of every image; sniffed when omitted. */
  format?: 'raw' | 'qcow2';
  /** Fail with NotFoundError when no operating system is found (virt-inspector's behaviour). */
  requireOs?: boolean;
}

/**
 * Open `paths` read-only and inspect them.
 * @throws IoError (missing file), FormatError/UnsupportedError (corrupt or unsupported image),
 *   NotFoundError (INSPECT_NO_OS, with `requireOs`).
 */
export function inspectImages(paths: readonly string[], opts: InspectImagesOptions = {}): InspectionReport {
  const gopts: GuestOpenOptions = {};
  if (opts.format) gopts.format = opts.format;
  if (opts.logger) gopts.logger = opts.logger;
  const guest = Guest.open([...paths], gopts);
  try {
    const report = inspectGuest(guest, opts);
    if (opts.requireOs && report.operatingSystems.length === 0) {
      throw new NotFoundError(
        InspectCode.NoOs,
        'no operating system could be detected inside this disk image (it may not be a disk image, not a virtual machine image, or hold an OS guestkit does not recognise)',
        { images: [...paths] },
      );
    }
    return report;
  } finally {
    guest.close();
  }
}
