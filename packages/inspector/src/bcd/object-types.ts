/**
 * BCD objects: the object type numbers (Objects\{GUID}\Description\Type) and the well-known
 * object GUIDs with the aliases bcdedit shows for them.
 *
 * Object type (Microsoft "BcdObjectType"): bits 28-31 the object code (1 application,
 * 2 inheritable settings, 3 device options). For applications, bits 20-23 the image type
 * (1 firmware, 2 boot application, 3 NTLDR-based loader, 4 real-mode code) and bits 0-19 the
 * application type (1 firmware boot manager, 2 Windows boot manager, 3 OS loader, 4 resume,
 * 5 memory tester, 6 NTLDR, 7 setup loader, 8 boot sector, 9 startup, 0xFFFFF firmware entry).
 * For inheritable objects, bits 20-23 say which elements they hold (1 library, 2 application
 * elements of the application type in bits 0-19, 3 device).
 */
import type { BcdElementScope } from './element-types.js';

export type BcdObjectKind = 'application' | 'inherit' | 'device' | 'unknown';

export interface BcdObjectTypeInfo {
  kind: BcdObjectKind;
  /** Application type (bits 0-19) for applications and application-class inheritable objects. */
  applicationType?: number;
  /** Image type (bits 20-23) for applications. */
  imageType?: number;
  /** Which element table the object's application-class elements come from. */
  scope: BcdElementScope | undefined;
  /** The heading bcdedit prints above the object. */
  heading: string;
}

const APP_SCOPES: Readonly<Record<number, BcdElementScope>> = {
  1: 'bootmgr', 2: 'bootmgr', 3: 'osloader', 4: 'resume', 5: 'memdiag', 6: 'ntldr', 7: 'osloader', 8: 'bootsector', 9: 'startup',
};

const APP_HEADINGS: Readonly<Record<number, string>> = {
  1: 'Firmware Boot Manager',
  2: 'Windows Boot Manager',
  3: 'Windows Boot Loader',
  4: 'Resume from Hibernate',
  5: 'Windows Memory Tester',
  6: 'Windows Legacy OS Loader',
  7: 'Windows Setup Loader',
  8: 'Real-mode Boot Sector',
  9: 'Startup Module',
};

/** Headings of the well-known inheritable objects. */
const INHERIT_HEADINGS: Readonly<Record<string, string>> = {
  '{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}': 'EMS Settings',
  '{4636856e-540f-4170-a130-a84776f4c654}': 'Debugger Settings',
  '{5189b25c-5558-4bf2-bca4-289b11bd29e2}': 'RAM Defects',
  '{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}': 'Global Settings',
  '{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}': 'Boot Loader Settings',
  '{7ff607e0-4395-11db-b0de-0800200c9a66}': 'Hypervisor Settings',
  '{1afa9c49-16ab-4a5c-901b-212802da9460}': 'Resume Loader Settings',
  '{313e8eed-7098-4586-a9bf-309c61f8d449}': 'Kernel Debugger Settings',
};

/** Decode an object type number. */
export function objectTypeInfo(type: number | undefined, id: string): BcdObjectTypeInfo {
  if (type === undefined) return { kind: 'unknown', scope: undefined, heading: 'Object (no type)' };
  const code = Math.floor(type / 0x10000000) % 16;
  const sub = Math.floor(type / 0x100000) % 16;
  const low = type % 0x100000;
  const hex = type.toString(16).padStart(8, '0');
  if (code === 1) {
    const heading = low === 0xfffff ? `Firmware Application (${hex})` : APP_HEADINGS[low] ?? `Application (${hex})`;
    return { kind: 'application', applicationType: low, imageType: sub, scope: APP_SCOPES[low], heading };
  }
  if (code === 2) {
    const scope: BcdElementScope | undefined = sub === 1 ? 'library' : sub === 2 ? APP_SCOPES[low] : sub === 3 ? 'device' : undefined;
    const info: BcdObjectTypeInfo = { kind: 'inherit', scope, heading: INHERIT_HEADINGS[id.toLowerCase()] ?? 'Inherited Settings' };
    if (sub === 2) info.applicationType = low;
    return info;
  }
  if (code === 3) return { kind: 'device', scope: 'device', heading: 'Device options' };
  return { kind: 'unknown', scope: undefined, heading: `Object (${hex})` };
}

/** Well-known object GUIDs (lower case, with braces) and their bcdedit aliases. */
export const WELL_KNOWN_OBJECTS: Readonly<Record<string, string>> = {
  '{9dea862c-5cdd-4e70-acc1-f32b344d4795}': '{bootmgr}',
  '{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}': '{fwbootmgr}',
  '{b2721d73-1db4-4c62-bf78-c548a880142d}': '{memdiag}',
  '{466f5a88-0af2-4f76-9038-095b170dc21c}': '{ntldr}',
  '{7ea2e1ac-2e61-4728-aaa3-896d9d0a9f0e}': '{globalsettings}',
  '{6efb52bf-1766-41db-a6b3-0ee5eff72bd7}': '{bootloadersettings}',
  '{1afa9c49-16ab-4a5c-901b-212802da9460}': '{resumeloadersettings}',
  '{7ff607e0-4395-11db-b0de-0800200c9a66}': '{hypervisorsettings}',
  '{4636856e-540f-4170-a130-a84776f4c654}': '{dbgsettings}',
  '{0ce4991b-e6b3-4b16-b23c-5e0d9250e5d9}': '{emssettings}',
  '{5189b25c-5558-4bf2-bca4-289b11bd29e2}': '{badmemory}',
  '{ae5534e0-a924-466c-b836-758539a3ee3a}': '{ramdiskoptions}',
  '{313e8eed-7098-4586-a9bf-309c61f8d449}': '{kerneldbgsettings}',
  '{7254a080-1510-4e85-ac0f-e7fb3d444736}': '{setupefi}',
  '{cbd971bf-b7b8-4885-951a-fa03044f5d71}': '{setuppcat}',
  '{1cae1eb7-a0df-4d4d-9851-4860e34ef535}': '{default}',
  '{fa926493-6f1c-4193-a414-58f0b2456d1e}': '{current}',
};

/** GUID (any case, with or without braces) of an alias like "{bootmgr}" or "bootmgr". */
export function guidOfAlias(alias: string): string | undefined {
  const a = alias.startsWith('{') ? alias.toLowerCase() : `{${alias.toLowerCase()}}`;
  if (a === '{legacy}') return '{466f5a88-0af2-4f76-9038-095b170dc21c}';
  for (const [g, name] of Object.entries(WELL_KNOWN_OBJECTS)) if (name === a) return g;
  return undefined;
}

export const BOOTMGR_ID = '{9dea862c-5cdd-4e70-acc1-f32b344d4795}';
export const FWBOOTMGR_ID = '{a5a30fa2-3d06-4e9f-b5f4-a01df9d1fcba}';
