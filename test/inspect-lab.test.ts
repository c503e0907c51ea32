/**
 * guestkit inspect on the ../shared/lab guests against what the real libguestfs 1.48 printed for
 * them (../shared/lab/expected/inspector/*.xml for virt-inspector, expected/inspect-api/*.json
 * for the inspection API through Sys::Guestfs).
 */
import { beforeAll, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectImages, inspectionToJson, inspectionToXml } from '@guestkit/inspector';
import { describeWithShared } from './support/shared.js';
import { describeWithTools } from './support/tools.js';
import { LAB_TOOLS, labExpectedSums, labImagesDir } from '../packages/inspector/test/support/lab.js';

describeWithShared('the ../shared/lab guests', (shared) => {
  describeWithTools(LAB_TOOLS, 'virt-inspector and the inspection API on the lab images', () => {
    let dir = '';
    beforeAll(() => {
      dir = labImagesDir(shared);
    }, 900_000);

    const expected = (f: string) => readFileSync(join(shared, 'lab/expected', f), 'utf8');

    it('the images built here are the ones libguestfs inspected (IMAGES.SHA256SUMS)', () => {
      for (const [name, sum] of labExpectedSums(shared)) {
        expect(createHash('sha256').update(readFileSync(join(dir, name))).digest('hex'), name).toBe(sum);
      }
    });

    for (const img of ['win10-gpt.raw', 'win10-mbr.raw', 'win10-gpt.qcow2', 'win10-gpt-compressed.qcow2']) {
      it(`${img}: XML identical to virt-inspector's`, () => {
        const r = inspectImages([join(dir, img)], { extras: false });
        expect(inspectionToXml(r)).toBe(expected(`inspector/${img}.xml`));
      });
    }
    it('win10-gpt.raw --no-applications: XML identical', () => {
      const r = inspectImages([join(dir, 'win10-gpt.raw')], { extras: false, applications: false });
      expect(inspectionToXml(r, { applications: false })).toBe(expected('inspector/win10-gpt.raw.no-applications.xml'));
    });

    for (const img of ['win10-gpt.raw', 'win10-mbr.raw']) {
      it(`${img}: the JSON agrees with the libguestfs inspection API`, () => {
        const api = JSON.parse(expected(`inspect-api/${img}.json`));
        const [rootName] = Object.keys(api.roots);
        const a = api.roots[rootName!];
        const j = inspectionToJson(inspectImages([join(dir, img)])) as { operatingsystems: Record<string, any>[] };
        expect(j.operatingsystems).toHaveLength(1);
        const o = j.operatingsystems[0]!;
        expect(o.root).toBe(rootName);
        expect(o.name).toBe(a.type);
        expect(o.arch_libguestfs).toBe(a.arch);
        expect(o.distro).toBe(a.distro);
        expect(o.product_name).toBe(a.product_name);
        expect(o.product_variant).toBe(a.product_variant);
        expect([o.major_version, o.minor_version]).toEqual([a.major_version, a.minor_version]);
        expect(o.hostname).toBe(a.hostname);
        expect(o.osinfo_libguestfs_1_48).toBe(a.osinfo);
        expect(o.windows_systemroot).toBe(a.windows_systemroot);
        expect(o.windows_software_hive).toBe(a.windows_software_hive);
        expect(o.windows_system_hive).toBe(a.windows_system_hive);
        expect(o.windows_current_control_set).toBe(a.windows_current_control_set);
        expect(Object.fromEntries(o.drive_mappings.map((m: any) => [m.letter, m.device]))).toEqual(a.drive_mappings);
        expect(Object.fromEntries(o.mountpoints.map((m: any) => [m.mountpoint, m.device]))).toEqual(a.mountpoints);
        expect(o.filesystems.map((f: any) => f.device)).toEqual(a.filesystems);
        const fsApi = api.filesystems[rootName!];
        expect([o.filesystems[0].type, o.filesystems[0].label, o.filesystems[0].uuid]).toEqual([fsApi.vfs_type, fsApi.vfs_label, fsApi.vfs_uuid]);
        const apps = o.applications.filter((x: any) => x.source !== 'defender');
        expect(apps.map((x: any) => [x.name, x.display_name ?? '', x.version ?? '', x.install_path ?? '', x.publisher ?? '', x.url ?? '', x.description ?? ''])).toEqual(
          a.applications2.map((x: any) => [x.app2_name, x.app2_display_name, x.app2_version, x.app2_install_path, x.app2_publisher, x.app2_url, x.app2_description]),
        );
        // and the facts libguestfs never reads, from the lab's reg/software.reg
        expect(o.windows).toMatchObject({ edition_id: 'Professional', display_version: '22H2', release_id: '2009', registered_owner: 'alice', ubr: 3789 });
      });
    }
  });
});
