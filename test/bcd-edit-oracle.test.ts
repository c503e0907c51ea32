/**
 * Round trips of the BCD editor on every real store of ../shared/testdata/bcd, checked with
 * tools nobody here wrote:
 *  - enum → edit → enum: the decoded store differs exactly in the edited elements/objects;
 *  - `hivexregedit --export` of the edited store differs from the original's only in the keys
 *    of the edited elements (and of a created object);
 *  - hivexregedit, hivexsh and reglookup read every edited store (reglookup sees as many rows as
 *    hivex has keys + values; hivexsh reads the edited value's bytes);
 * and the `guestkit bcd` command end to end on a store file (--json, --dry-run, BCD.bak,
 * --no-backup, refusals and exit codes). Run `pnpm build` first for the CLI part.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  bcdObjectsJson, editBcdFile, encodeBcdValue, openHiveBytes, readBcdStore, selectBcdObjects, type BcdEditOp, type BcdStore,
} from '@guestkit/inspector';
import { describeWithShared, repoRoot, tempDir } from './support/shared.js';
import { describeWithTools, runTool } from './support/tools.js';

const STORES = [
  'regipy/BCD', 'ericzimmerman/BCD', 'windeploy-linux/BCD', 'windeploy-linux/BCD-efi', 'usbboot/boot/BCD',
  'usbboot/EFI/Microsoft/Boot/BCD', 'dfir-artifact-museum/Win10/BCD-Template', 'dfir-artifact-museum/Win11/BCD-Template',
];
const BOOTMGR = '{9dea862c-5cdd-4e70-acc1-f32b344d4795}';
const NEW_ID = '{6b1c0de5-0000-4000-8000-00000000e017}';
const BIN = join(repoRoot, 'apps/cli/bin/guestkit');

function read(path: string): BcdStore {
  return readBcdStore(openHiveBytes(readFileSync(path), path));
}

/** object id → element type (hex) → element JSON, and the object headers. */
function flatten(st: BcdStore): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of bcdObjectsJson(st, selectBcdObjects(st, 'all'))) {
    const { elements, ...head } = o as { elements: { type: string }[] } & Record<string, unknown>;
    m.set(`${o.id}`, JSON.stringify(head));
    for (const e of elements) m.set(`${o.id} ${e.type}`, JSON.stringify(e));
  }
  return m;
}

function changedKeys<T>(a: Map<string, T>, b: Map<string, T>): string[] {
  const out = new Set<string>();
  for (const [k, v] of a) if (!b.has(k) || b.get(k) !== v) out.add(k);
  for (const k of b.keys()) if (!a.has(k)) out.add(k);
  return [...out].sort();
}

/** hivexregedit --export as key path (lower case) → the key's block of value lines. */
function hivexKeys(path: string): Map<string, string> {
  const text = runTool('hivexregedit', ['--export', path, '\\']).toString('latin1');
  const m = new Map<string, string>();
  for (const block of text.split(/\n(?=\[)/)) {
    const nl = block.indexOf('\n');
    const head = nl < 0 ? block : block.slice(0, nl);
    if (!head.startsWith('[')) continue;
    m.set(head.slice(1, -1).toLowerCase(), nl < 0 ? '' : block.slice(nl + 1).trim());
  }
  return m;
}

interface Case {
  name: string;
  op: BcdEditOp;
  /** Changed (object, element) / object entries in enum terms: "{id} 0xTYPE" or "{id}". */
  enumChanges: string[];
  /** Changed keys of the hivex export (lower case, "\Objects\{id}\Elements\xxxxxxxx"). */
  keyChanges: string[];
  /** Element to read back with hivexsh and its expected bytes. */
  readBack?: { key: string; hex: string };
}

function casesFor(st: BcdStore): Case[] {
  const loader = st.objects.find((o) => o.type === 0x10200003)!;
  const L = loader.id;
  const bootmgr = st.objects.find((o) => o.id === BOOTMGR)!;
  const hasEl = (o: typeof loader, t: number) => o.elements.some((e) => e.type === t);
  const elKey = (id: string, t: number) => `\\objects\\${id}\\elements\\${t.toString(16).padStart(8, '0')}`;
  const order = bootmgr.elements.find((e) => e.type === 0x24000001);
  const inMenu = order?.value.format === 'objectlist' && order.value.value.includes(L);
  const last = loader.elements[loader.elements.length - 1]!;
  const alt = hasEl(loader, 0x26000081);
  const dev = 'partition=mbr disk 0x1234abcd offset 1048576';
  // the copy: every element of the source, and a description (which some template entries lack)
  const copied = [...new Set([...loader.elements.map((e) => e.type), 0x12000004])];
  const newObj = [...copied.map((t) => `${NEW_ID} 0x${t.toString(16).padStart(8, '0')}`), NEW_ID];
  const newKeys = [`\\objects\\${NEW_ID}`, `\\objects\\${NEW_ID}\\description`, `\\objects\\${NEW_ID}\\elements`, ...copied.map((t) => elKey(NEW_ID, t))];
  return [
    {
      name: 'timeout 5', op: { op: 'timeout', seconds: '5' }, enumChanges: [`${BOOTMGR} 0x25000004`], keyChanges: [elKey(BOOTMGR, 0x25000004)],
      readBack: { key: elKey(BOOTMGR, 0x25000004), hex: '0500000000000000' },
    },
    {
      name: 'safeboot minimal', op: { op: 'switch', name: 'safeboot', id: L, value: ['minimal'] },
      enumChanges: [`${L} 0x25000080`, ...(alt ? [`${L} 0x26000081`] : [])], keyChanges: [elKey(L, 0x25000080), ...(alt ? [elKey(L, 0x26000081)] : [])],
      readBack: { key: elKey(L, 0x25000080), hex: '0000000000000000' },
    },
    {
      name: 'set description', op: { op: 'set', id: L, element: 'description', value: ['guestkit édité'] }, enumChanges: [`${L} 0x12000004`], keyChanges: [elKey(L, 0x12000004)],
      readBack: { key: elKey(L, 0x12000004), hex: Buffer.from('guestkit édité\0', 'utf16le').toString('hex') },
    },
    {
      name: `deletevalue ${last.name}`, op: { op: 'deletevalue', id: L, element: `0x${last.type.toString(16).padStart(8, '0')}` },
      enumChanges: [`${L} 0x${last.type.toString(16).padStart(8, '0')}`], keyChanges: [elKey(L, last.type)],
    },
    {
      name: 'create --copy', op: { op: 'create', copy: L, description: 'copy', newId: NEW_ID },
      enumChanges: [...newObj, ...(inMenu ? [`${BOOTMGR} 0x24000001`] : [])], keyChanges: [...newKeys, ...(inMenu ? [elKey(BOOTMGR, 0x24000001)] : [])],
    },
    {
      name: 'osdevice partition (MBR identifiers)', op: { op: 'set', id: L, element: 'osdevice', value: [dev] }, enumChanges: [`${L} 0x21000001`], keyChanges: [elKey(L, 0x21000001)],
      readBack: { key: elKey(L, 0x21000001), hex: Buffer.from(encodeBcdValue({ format: 'device', value: { device: { kind: 'partition', scheme: 'mbr', diskSignature: 0x1234abcd, offset: 1048576 } } }).data).toString('hex') },
    },
    {
      name: 'displayorder --addfirst', op: { op: 'displayorder', ids: [L], mode: 'addfirst' },
      enumChanges: inMenu && (order!.value as { value: string[] }).value[0] === L ? [] : [`${BOOTMGR} 0x24000001`],
      keyChanges: inMenu && (order!.value as { value: string[] }).value[0] === L ? [] : [elKey(BOOTMGR, 0x24000001)],
    },
  ];
}

function hivexshRead(path: string, key: string): string {
  const r = spawnSync('hivexsh', [path], { input: `cd ${key.replace(/^\\/, '')}\nlsval\n`, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hivexsh failed: ${r.stderr}`);
  const m = /^"Element"=(.*)$/m.exec(r.stdout);
  if (!m) throw new Error(`hivexsh: no Element in ${r.stdout}`);
  // hivexsh prints hex(N):aa,bb,… (or a quoted string / dword for those types)
  const h = /^hex\([0-9a-f]+\):(.*)$/i.exec(m[1]!);
  if (h) return h[1]!.replace(/,/g, '');
  const s = /^"(.*)"$/.exec(m[1]!);
  if (s) return Buffer.from(s[1]! + '\0', 'utf16le').toString('hex');
  return m[1]!;
}

describeWithShared('bcd edit round trips on ../shared/testdata/bcd', (shared) => {
  describeWithTools(['hivexregedit', 'hivexsh', 'reglookup'], 'checked with hivex and reglookup', () => {
    for (const s of STORES) {
      it(`${s}: enum → edit → enum shows exactly the change; hivex and reglookup agree`, () => {
        const src = join(shared, 'testdata/bcd', s);
        const t = tempDir('gk-bcd-rt-');
        try {
          const before = read(src);
          const beforeEnum = flatten(before);
          const beforeKeys = hivexKeys(src);
          for (const c of casesFor(before)) {
            const p = join(t.dir, 'BCD');
            copyFileSync(src, p);
            chmodSync(p, 0o644);
            const r = editBcdFile(p, [c.op], { newGuid: () => NEW_ID.slice(1, -1) });
            expect(r.written || c.enumChanges.length === 0, c.name).toBe(true);
            expect(readFileSync(`${p}.bak`).equals(readFileSync(src)) || !r.written, `${c.name}: BCD.bak is the original`).toBe(true);
            // enum → edit → enum
            const after = read(p);
            expect(after.warnings).toEqual([]);
            expect(changedKeys(beforeEnum, flatten(after)), `${s} ${c.name}`).toEqual([...new Set(c.enumChanges)].sort());
            // hivexregedit --export differs only in the edited keys
            const afterKeys = hivexKeys(p);
            expect(changedKeys(beforeKeys, afterKeys), `${s} ${c.name}`).toEqual([...new Set(c.keyChanges)].sort());
            // reglookup reads it: one row per key and per value, as hivex counts them
            const rl = spawnSync('reglookup', [p], { encoding: 'latin1', maxBuffer: 1 << 26 });
            expect(rl.status, rl.stderr).toBe(0);
            const rows = rl.stdout.split('\n').filter((l) => l.startsWith('/')).length;
            const hivexCount = afterKeys.size + [...afterKeys.values()].reduce((n, b) => n + (b ? b.split('\n').filter((l) => l.startsWith('"') || l.startsWith('@')).length : 0), 0);
            expect(rows, `${s} ${c.name}`).toBe(hivexCount);
            if (c.readBack) expect(hivexshRead(p, c.readBack.key), `${s} ${c.name}`).toBe(c.readBack.hex);
          }
        } finally {
          t.cleanup();
        }
      });
    }
  });
});

function gk(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GUESTKIT_LOG: '' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describeWithShared('guestkit bcd editing a store file', (shared) => {
  const fresh = (dir: string): string => {
    const p = join(dir, 'BCD');
    copyFileSync(join(shared, 'testdata/bcd/regipy/BCD'), p);
    chmodSync(p, 0o644);
    return p;
  };

  it('--dry-run prints the change and the .reg diff and writes nothing; --json', () => {
    const t = tempDir('gk-bcd-cli-');
    try {
      const p = fresh(t.dir);
      const orig = readFileSync(p);
      const r = gk(['bcd', p, 'timeout', '5', '--dry-run']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('{bootmgr} timeout: 30 -> 5\ndry run: nothing written');
      expect(r.stdout).toContain('-"Element"=hex(3):1e,00,00,00,00,00,00,00\n+"Element"=hex(3):05,00,00,00,00,00,00,00\n');
      expect(readFileSync(p).equals(orig)).toBe(true);
      expect(existsSync(`${p}.bak`)).toBe(false);
      const j = JSON.parse(gk(['bcd', p, 'safeboot', 'network', '--dry-run', '--json']).stdout);
      expect(j).toMatchObject({ dry_run: true, written: false, changes: [{ action: 'set', label: '{default}', element: 'safeboot', type: '0x25000080', after: 'Network' }] });
      expect(j.reg_diff).toMatch(/^\+\[\\Objects\\\{733b62e5-f608-11eb-825c-c112f60133ab\}\\Elements\\25000080\]$/m);
    } finally {
      t.cleanup();
    }
  });

  it('create prints the new GUID; the old store is kept as BCD.bak unless --no-backup; enum shows the entry', () => {
    const t = tempDir('gk-bcd-cli-');
    try {
      const p = fresh(t.dir);
      const orig = readFileSync(p);
      const r = gk(['bcd', p, 'create', '--copy', '{current}', '-d', 'Windows 10 (safe mode)']);
      expect(r.status, r.stderr).toBe(0);
      const id = r.stdout.trim();
      expect(id).toMatch(/^\{[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\}$/);
      expect(r.stderr).toContain(`{bootmgr} displayorder: {default} -> {default}, ${id}`);
      expect(readFileSync(`${p}.bak`).equals(orig)).toBe(true);
      const e = gk(['bcd', p]);
      expect(e.stdout).toContain(`identifier              ${id}\n`);
      expect(e.stdout).toContain('description             Windows 10 (safe mode)\n');
      const bak2 = readFileSync(p);
      expect(gk(['bcd', p, 'safeboot', id, 'minimal', '--no-backup']).status).toBe(0);
      expect(readFileSync(`${p}.bak`).equals(orig)).toBe(true); // untouched by the --no-backup edit
      expect(readFileSync(p).equals(bak2)).toBe(false);
      expect(gk(['bcd', p, 'enum', id, '--json']).stdout).toContain('"display": "Minimal"');
    } finally {
      t.cleanup();
    }
  });

  it('refusals exit 2 and change nothing; a dirty store exits 4; a missing object exits 1', () => {
    const t = tempDir('gk-bcd-cli-');
    try {
      const p = fresh(t.dir);
      const orig = readFileSync(p);
      for (const args of [['default', '{memdiag}'], ['delete', '{bootmgr}'], ['displayorder', '{globalsettings}', '--addlast'], ['set', '{default}', 'timeout', '3'], ['osdevice', 'partition=C:'], ['timeout', 'soon']]) {
        const r = gk(['bcd', p, ...args]);
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
      expect(gk(['bcd', p, 'deletevalue', '{01234567-89ab-cdef-0123-456789abcdef}', 'path']).status).toBe(1);
      expect(readFileSync(p).equals(orig)).toBe(true);
      expect(existsSync(`${p}.bak`)).toBe(false);
      const dirty = Buffer.from(orig);
      dirty[8]! += 1;
      writeFileSync(p, dirty);
      const d = gk(['bcd', p, 'timeout', '3']);
      expect(d.status).toBe(4);
      expect(d.stderr).toMatch(/dirty.*BCD_DIRTY/);
    } finally {
      t.cleanup();
    }
  });

  it('--help is a manual with examples', () => {
    const h = gk(['bcd', '--help']);
    expect(h.status).toBe(0);
    for (const s of ['ACTIONS', 'create --copy ID -d TEXT', 'safeboot minimal|network|dsrepair|alternateshell|off', 'partition=C:', '--dry-run', '--no-backup', 'Examples:']) expect(h.stdout).toContain(s);
  });
});

describe('guestkit bcd', () => {
  it('usage errors exit 2', () => {
    const r = gk(['bcd', join(repoRoot, 'test/fixtures/guests/win11-uefi.qcow2'), 'set', '{default}']);
    expect(r.status).toBe(2);
  });
});
