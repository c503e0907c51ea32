/**
 * Format sniffing: the qcow2 magic, else raw. Formats we recognise but cannot read (VMDK, VHDX,
 * VHD, VDI, QED, qcow v1 is handled by the qcow2 header check) are refused with a clear error
 * rather than silently read as raw disks, unless the caller forces `format: 'raw'`.
 */
import { UnsupportedError } from '../binary/index.js';
import type { BlockDevice } from '../device/block-device.js';

export type ImageFormat = 'raw' | 'qcow2';

export const ProbeCode = { UnsupportedFormat: 'IMAGE_UNSUPPORTED_FORMAT' } as const;

const OTHER_FORMATS: { name: string; offset: number; magic: string }[] = [
  { name: 'VMDK (sparse extent)', offset: 0, magic: 'KDMV' },
  { name: 'VMDK (descriptor)', offset: 0, magic: '# Disk DescriptorFile' },
  { name: 'VHDX', offset: 0, magic: 'vhdxfile' },
  { name: 'VHD (dynamic)', offset: 0, magic: 'conectix' },
  { name: 'QED', offset: 0, magic: 'QED\0' },
  { name: 'VDI', offset: 0x40, magic: '\x7f\x10\xda\xbe' },
];

/** Which format `dev` holds: 'qcow2' when it starts with "QFI\xfb", else 'raw'. */
export function probeFormat(dev: BlockDevice): ImageFormat {
  const n = Math.min(dev.size, 0x48);
  const head = new Uint8Array(n);
  dev.readAt(0, head);
  const text = Buffer.from(head).toString('latin1');
  if (text.startsWith('QFI\xfb')) return 'qcow2';
  for (const f of OTHER_FORMATS) {
    if (text.startsWith(f.magic, f.offset)) {
      throw new UnsupportedError(ProbeCode.UnsupportedFormat, `${dev.name}: looks like a ${f.name} image, which guestkit does not read (convert it with \`qemu-img convert -O qcow2\`, or force --format raw)`, {
        device: dev.name, format: f.name,
      });
    }
  }
  return 'raw';
}
