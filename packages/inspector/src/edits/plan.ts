/**
 * Edits are data. A recipe (`--run-once CMD`, `--inject-driver viostor.sys`, …) becomes an
 * EditStep: a list of registry edits (full registry paths, the way a .reg file names keys) and
 * file edits (paths on the Windows root filesystem), plus warnings. A plan can be printed (text
 * or JSON) before anything is touched, applied in memory, diffed, and committed or discarded.
 */
import { ByteWriter } from '@guestkit/disk/binary';
import type { RegOp } from '@guestkit/hive';
import { formatRegValue } from '../winreg/reg-diff.js';

/** Registry value types used by the recipes (winnt.h REG_*). */
export const RegType = { SZ: 1, EXPAND_SZ: 2, BINARY: 3, DWORD: 4, MULTI_SZ: 7 } as const;

export type RegEdit =
  /** Set (add or replace) one value; the key and missing parents are created. */
  | { kind: 'reg'; op: 'set'; key: string; name: string; type: number; data: Uint8Array }
  | { kind: 'reg'; op: 'deleteValue'; key: string; name: string }
  /** Make sure a key exists (with its parents). */
  | { kind: 'reg'; op: 'createKey'; key: string }
  /** Delete a key and everything below it (absent: nothing happens). */
  | { kind: 'reg'; op: 'deleteKey'; key: string };

export type FileEdit =
  /** Create a directory (its parent exists or is created by an earlier edit). */
  | { kind: 'file'; op: 'mkdir'; path: string }
  /** Create or replace a file. `source` says where the bytes come from (a host path, or "generated: …"). */
  | { kind: 'file'; op: 'write'; path: string; data: Uint8Array; source: string; replaces: boolean };

export type Edit = RegEdit | FileEdit;

export interface EditStep {
  /** The recipe as the user wrote it ("--run-once 'c:\\setup.bat'"). */
  recipe: string;
  /** One line saying what the step achieves. */
  summary: string;
  edits: Edit[];
  warnings: string[];
}

export interface EditPlan {
  /** Root device and systemroot the plan was made for. */
  root: string;
  systemroot: string;
  steps: EditStep[];
}

// ------------------------------------------------------------------------------ value helpers

/** REG_SZ / REG_EXPAND_SZ data: UTF-16LE with a terminating NUL. */
export function regString(s: string): Uint8Array {
  const b = Buffer.from(s + '\0', 'utf16le');
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** REG_MULTI_SZ data: each string NUL-terminated, then one more NUL. */
export function regMultiString(items: readonly string[]): Uint8Array {
  return regString(items.map((s) => s + '\0').join(''));
}

export function regDword(n: number): Uint8Array {
  return ByteWriter.alloc(4).u32(0, n >>> 0, 'REG_DWORD').bytes;
}

export function setSz(key: string, name: string, value: string): RegEdit {
  return { kind: 'reg', op: 'set', key, name, type: RegType.SZ, data: regString(value) };
}
export function setExpandSz(key: string, name: string, value: string): RegEdit {
  return { kind: 'reg', op: 'set', key, name, type: RegType.EXPAND_SZ, data: regString(value) };
}
export function setMultiSz(key: string, name: string, value: readonly string[]): RegEdit {
  return { kind: 'reg', op: 'set', key, name, type: RegType.MULTI_SZ, data: regMultiString(value) };
}
export function setDword(key: string, name: string, value: number): RegEdit {
  return { kind: 'reg', op: 'set', key, name, type: RegType.DWORD, data: regDword(value) };
}
export function setBinary(key: string, name: string, value: Uint8Array): RegEdit {
  return { kind: 'reg', op: 'set', key, name, type: RegType.BINARY, data: value };
}

// ------------------------------------------------------------------------------ conversions

/** The registry edits of a plan as .reg operations (in order), for RegistrySession.applyOps. */
export function planRegOps(plan: EditPlan): RegOp[] {
  const ops: RegOp[] = [];
  let line = 0;
  for (const step of plan.steps) {
    for (const e of step.edits) {
      if (e.kind !== 'reg') continue;
      line++;
      if (e.op === 'set') ops.push({ op: 'set', path: e.key, name: e.name, type: e.type, data: e.data, line });
      else if (e.op === 'deleteValue') ops.push({ op: 'deleteValue', path: e.key, name: e.name, line });
      else if (e.op === 'createKey') ops.push({ op: 'key', path: e.key, line });
      else ops.push({ op: 'deleteKey', path: e.key, line });
    }
  }
  return ops;
}

/**
 * The plan as text: per step a `# N. recipe` header, its warnings, the file edits
 * (`mkdir PATH`, `write PATH (N bytes from SOURCE)`) and the registry edits as .reg lines
 * (consecutive edits of one key share a `[KEY]` line).
 */
export function formatPlan(plan: EditPlan): string {
  let out = `# plan for the Windows installation on ${plan.root} (systemroot ${plan.systemroot})\n`;
  plan.steps.forEach((step, i) => {
    out += `\n# ${i + 1}. ${step.recipe}: ${step.summary}\n`;
    for (const w of step.warnings) out += `# warning: ${w}\n`;
    let key: string | undefined;
    for (const e of step.edits) {
      if (e.kind === 'file') {
        key = undefined;
        out += e.op === 'mkdir' ? `mkdir ${e.path}\n` : `${e.replaces ? 'replace' : 'write'} ${e.path} (${e.data.length} bytes from ${e.source})\n`;
        continue;
      }
      if (e.op === 'deleteKey') {
        out += `[-${e.key}]\n`;
        key = undefined;
        continue;
      }
      if (e.key !== key) {
        out += `[${e.key}]\n`;
        key = e.key;
      }
      if (e.op === 'set') out += formatRegValue({ name: e.name, type: e.type, data: e.data }) + '\n';
      else if (e.op === 'deleteValue') out += `${e.name === '' ? '@' : `"${e.name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`}=-\n`;
    }
  });
  return out;
}

/** The plan as JSON-ready data (file contents by size and SHA-256, value data as hex and as .reg text). */
export function planToJson(plan: EditPlan, sha256: (b: Uint8Array) => string): unknown {
  return {
    root: plan.root,
    systemroot: plan.systemroot,
    steps: plan.steps.map((s) => ({
      recipe: s.recipe,
      summary: s.summary,
      warnings: s.warnings,
      edits: s.edits.map((e) => {
        if (e.kind === 'file') {
          return e.op === 'mkdir' ? { kind: 'file', op: 'mkdir', path: e.path } : { kind: 'file', op: 'write', path: e.path, source: e.source, size: e.data.length, sha256: sha256(e.data), replaces: e.replaces };
        }
        if (e.op === 'set') return { kind: 'reg', op: 'set', key: e.key, name: e.name, type: e.type, data: Buffer.from(e.data).toString('hex'), text: formatRegValue({ name: e.name, type: e.type, data: e.data }) };
        if (e.op === 'deleteValue') return { kind: 'reg', op: 'deleteValue', key: e.key, name: e.name };
        return { kind: 'reg', op: e.op, key: e.key };
      }),
    })),
  };
}
