import { describe, expect, it } from 'vitest';
import { splitWords, parseLine, splitOneShot } from '../src/fish/words.js';
import { splitFishArgv } from '../src/commands/fish.js';
import { collapse } from '../src/fish/session.js';
import { lsDate, formatLl, linuxDevNumber, modeString } from '../src/fish/format.js';

describe('guestfish word splitting', () => {
  it('handles quotes and escapes like guestfish', () => {
    expect(splitWords('ls "/Program Files"')).toEqual(['ls', '/Program Files']);
    expect(splitWords(`write /x "a\\nb\\t\\"c\\"\\x41"`)).toEqual(['write', '/x', 'a\nb\t"c"A']);
    expect(splitWords(`cat '/a b\\n'`)).toEqual(['cat', '/a b\\n']);
    expect(splitWords('echo "" x')).toEqual(['echo', '', 'x']);
    expect(splitWords('cat "/Users/alice/Documents/Résumé – ünïcødé.txt"')).toEqual(['cat', '/Users/alice/Documents/Résumé – ünïcødé.txt']);
    expect(() => splitWords('ls "/x')).toThrow(/unterminated/);
  });
  it('parses comments and the ignore-errors prefix', () => {
    expect(parseLine('  # comment')).toBeUndefined();
    expect(parseLine('')).toBeUndefined();
    expect(parseLine('-lgetxattrs /x')).toEqual({ command: 'lgetxattrs', args: ['/x'], ignoreErrors: true });
  });
  it('splits one-shot commands at ":"', () => {
    expect(splitOneShot(['ls', '/', ':', 'cat', '/x', ':', 'echo'])).toEqual([
      { command: 'ls', args: ['/'], ignoreErrors: false },
      { command: 'cat', args: ['/x'], ignoreErrors: false },
      { command: 'echo', args: [], ignoreErrors: false },
    ]);
  });
});

describe('fish argv split', () => {
  it('separates options from command words', () => {
    expect(splitFishArgv(['fish', '-a', 'x.img', '-m', '/dev/sda1', '--rw', 'ls', '-l', '/'])).toEqual({
      options: ['fish', '-a', 'x.img', '-m', '/dev/sda1', '--rw'],
      commands: ['ls', '-l', '/'],
    });
    expect(splitFishArgv(['fish', '-a', 'x', '--', '-rm', '/x'])).toEqual({ options: ['fish', '-a', 'x'], commands: ['-rm', '/x'] });
    expect(splitFishArgv(['fish', '--add=x.img', 'ls', '/'])).toEqual({ options: ['fish', '--add=x.img'], commands: ['ls', '/'] });
  });
});

describe('fish formatting', () => {
  it('collapses paths', () => {
    expect(collapse('/a//b/./c/')).toBe('/a/b/c');
    expect(collapse('/a/../..')).toBe('/');
  });
  it('formats ls dates in the C locale', () => {
    const now = new Date('2026-11-22T00:00:00Z');
    expect(lsDate(new Date('2024-01-15T10:00:00Z'), now)).toBe('Jan 15  2024');
    expect(lsDate(new Date('2026-11-01T09:05:00Z'), now)).toBe('Nov  1 09:05');
  });
  it('formats modes, device numbers and ll rows', () => {
    expect(modeString(0o100777)).toBe('-rwxrwxrwx');
    expect(modeString(0o040755)).toBe('drwxr-xr-x');
    expect(linuxDevNumber('/dev/sda3')).toBe(2051);
    expect(linuxDevNumber('/dev/sdb1')).toBe(8 * 256 + 17);
    const d = new Date('2024-01-15T10:00:00Z');
    const dir = { mode: 0o040777, nlink: 1, size: 4096, blocks: 8, uid: 0 as const, gid: 0 as const };
    const file = { mode: 0o100777, nlink: 1, size: 12288, blocks: 24, uid: 0 as const, gid: 0 as const };
    expect(formatLl([{ name: '.', view: dir, mtime: d }, { name: '..', view: dir, mtime: d }, { name: 'SAM', view: file, mtime: d }])).toBe(
      'total 20\n' +
        'drwxrwxrwx 1 0 0  4096 Jan 15  2024 .\n' +
        'drwxrwxrwx 1 0 0  4096 Jan 15  2024 ..\n' +
        '-rwxrwxrwx 1 0 0 12288 Jan 15  2024 SAM\n',
    );
  });
});
