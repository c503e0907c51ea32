/**
 * Device names as libguestfs prints them: the Nth added disk is /dev/sd<letters>
 * (sda … sdz, sdaa …), its partitions /dev/sdaN with the partition numbers Linux gives.
 */
export function diskName(index: number): string {
  // bijective base-26, like the Linux sd driver: 0 → a, 25 → z, 26 → aa
  let n = index + 1;
  let s = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(97 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return 'sd' + s;
}

export function partitionDevice(disk: string, number: number): string {
  return `/dev/${disk}${number}`;
}

/** Parse "/dev/sda3" → { disk: 'sda', partition: 3 }, "/dev/sdb" → { disk: 'sdb' }; also accepts vdX/hdX like guestfish. */
export function parseDevice(dev: string): { disk: string; partition?: number } | undefined {
  const m = /^\/dev\/(?:sd|vd|hd|xvd)([a-z]+)(\d+)?$/.exec(dev);
  if (!m) return undefined;
  const disk = 'sd' + m[1]!;
  return m[2] === undefined ? { disk } : { disk, partition: Number(m[2]) };
}
