import type { FishSession } from './session.js';

/** One guestfish command. */
export interface FishCommand {
  name: string;
  aliases?: string[];
  /** "ls directory" */
  synopsis: string;
  /** Paragraph shown by `help CMD`. */
  description: string;
  minArgs: number;
  maxArgs: number;
  /** Needs a read-write session (--rw). */
  write?: boolean;
  run(s: FishSession, args: string[]): void | Promise<void>;
}

export class CommandTable {
  private readonly byName = new Map<string, FishCommand>();
  readonly all: FishCommand[] = [];

  add(...cmds: FishCommand[]): this {
    for (const c of cmds) {
      this.all.push(c);
      for (const n of [c.name, ...(c.aliases ?? [])]) this.byName.set(n, c);
    }
    this.all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this;
  }

  /** guestfish accepts '_' for '-' in command names. */
  get(name: string): FishCommand | undefined {
    return this.byName.get(name) ?? this.byName.get(name.replace(/_/g, '-'));
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}
