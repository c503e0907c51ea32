import { it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { regExportTree } from '/work/wt-inspector/packages/inspector/test/support/reg-export-tree.js';
import { readBcdStore } from '/work/wt-inspector/packages/inspector/src/bcd/store.js';
import { formatBcdText, selectBcdObjects } from '/work/wt-inspector/packages/inspector/src/bcd/format.js';
it('dump', () => {
  const base = '/work/shared/testdata/oracles/hivexregedit/bcd/';
  for (const f of ['regipy/BCD', 'ericzimmerman/BCD', 'windeploy-linux/BCD', 'windeploy-linux/BCD-efi', 'usbboot/boot/BCD', 'usbboot/EFI/Microsoft/Boot/BCD', 'dfir-artifact-museum/Win10/BCD-Template', 'dfir-artifact-museum/Win11/BCD-Template']) {
    const t = gunzipSync(readFileSync(base + f + '.reg.gz')).toString('latin1');
    const s = readBcdStore(regExportTree(t));
    console.log('#####', f, s.objects.length, s.warnings);
    console.log(formatBcdText(s, selectBcdObjects(s, 'all')));
  }
});
