import type { CommandModule } from 'yargs';
import { bcdCommand } from './bcd.js';
import { fishCommand } from './fish.js';
import { inspectCommand } from './inspect.js';
import { mkisoCommand } from './mkiso.js';
import { serveCommand } from './serve.js';
import { diskCommand } from './disk.js';
import { hiveCommand } from './hive.js';
import { winRegCommand } from './win-reg.js';
import { customizeCommand } from './customize.js';

/**
 * Every top-level command, in the order `guestkit --help` lists them. Each module is small:
 * its builder declares options and examples; its handler imports the implementation lazily so
 * that start-up loads only what the chosen command needs.
 * (This file merges with git's union driver, see .gitattributes: keep one import and one entry per line.)
 */
export const commands: CommandModule[] = [
  inspectCommand as unknown as CommandModule,
  bcdCommand as unknown as CommandModule,
  fishCommand as unknown as CommandModule,
  serveCommand as unknown as CommandModule,
  mkisoCommand as unknown as CommandModule,
  diskCommand as unknown as CommandModule,
  hiveCommand as unknown as CommandModule,
  winRegCommand as unknown as CommandModule,
  customizeCommand as unknown as CommandModule,
];
