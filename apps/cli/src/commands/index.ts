import type { CommandModule } from 'yargs';
import { mkisoCommand } from './mkiso.js';

/**
 * Every top-level command, in the order `guestkit --help` lists them. Each module is small:
 * its builder declares options and examples; its handler imports the implementation lazily so
 * that start-up loads only what the chosen command needs.
 */
export const commands: CommandModule[] = [
  mkisoCommand as unknown as CommandModule,
];
