import { UsageError } from '@guestkit/disk/binary';

/**
 * guestfish's command-line syntax: words separated by blanks; "double quotes" with backslash
 * escapes (\\ \" \n \t \r \a \b \f \v \xHH \ooo); 'single quotes' taken literally; a line whose
 * first non-blank is '#' is a comment. A leading '-' on the command name means "ignore errors".
 */
export interface ParsedLine {
  command: string;
  args: string[];
  /** The command was prefixed with '-': a failure is reported but does not stop the script. */
  ignoreErrors: boolean;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', "'": "'" };

export function splitWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= n) break;
    let word = '';
    let quotedEmpty = false;
    while (i < n && line[i] !== ' ' && line[i] !== '\t') {
      const c = line[i]!;
      if (c === '"') {
        i++;
        quotedEmpty = true;
        while (i < n && line[i] !== '"') {
          if (line[i] === '\\' && i + 1 < n) {
            const e = line[i + 1]!;
            if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
              word += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
              i += 4;
            } else if (/[0-7]/.test(e) && /^[0-7]{3}$/.test(line.slice(i + 1, i + 4))) {
              word += String.fromCharCode(parseInt(line.slice(i + 1, i + 4), 8));
              i += 4;
            } else {
              word += ESCAPES[e] ?? e;
              i += 2;
            }
          } else word += line[i++];
        }
        if (i >= n) throw new UsageError('FISH_UNTERMINATED_QUOTE', `unterminated double quote in: ${line}`);
        i++;
      } else if (c === "'") {
        i++;
        quotedEmpty = true;
        const end = line.indexOf("'", i);
        if (end < 0) throw new UsageError('FISH_UNTERMINATED_QUOTE', `unterminated single quote in: ${line}`);
        word += line.slice(i, end);
        i = end + 1;
      } else {
        word += c;
        i++;
      }
    }
    if (word.length > 0 || quotedEmpty) words.push(word);
  }
  return words;
}

/** Parse one script line; undefined for blank lines and comments. */
export function parseLine(line: string): ParsedLine | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const words = splitWords(trimmed);
  if (words.length === 0) return undefined;
  return fromWords(words);
}

function fromWords(words: string[]): ParsedLine {
  let command = words[0]!;
  let ignoreErrors = false;
  if (command.startsWith('-') && command.length > 1) {
    ignoreErrors = true;
    command = command.slice(1);
  }
  return { command, args: words.slice(1), ignoreErrors };
}

/** Split one-shot argv ("ls / : cat /x") into commands at ':' words. */
export function splitOneShot(argv: string[]): ParsedLine[] {
  const out: ParsedLine[] = [];
  let cur: string[] = [];
  for (const a of argv) {
    if (a === ':') {
      if (cur.length) out.push(fromWords(cur));
      cur = [];
    } else cur.push(a);
  }
  if (cur.length) out.push(fromWords(cur));
  return out;
}
