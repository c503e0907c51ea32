/**
 * A line diff in unified format (`diff -u`), for `guestkit bcd … --dry-run`: the .reg export
 * of the store before and after the edit. Common leading and trailing lines are cut first (an
 * edit touches a few neighbouring keys), then the middle is matched by longest common
 * subsequence; a middle larger than MAX_LCS_CELLS is shown as one replaced block.
 */

/** Upper bound on the LCS table (lines before × lines after of the changed middle). */
export const MAX_LCS_CELLS = 4_000_000;

type Edit = { kind: ' ' | '-' | '+'; line: string };

function middleEdits(a: readonly string[], b: readonly string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((line) => ({ kind: '+', line }));
  if (m === 0) return a.map((line) => ({ kind: '-', line }));
  if (n * m > MAX_LCS_CELLS) return [...a.map((line): Edit => ({ kind: '-', line })), ...b.map((line): Edit => ({ kind: '+', line }))];
  // lcs[i][j] = LCS length of a[i..] and b[j..], rows of m+1.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
    }
  }
  const out: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: ' ', line: a[i]! });
      i++;
      j++;
    } else if (lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!) out.push({ kind: '-', line: a[i++]! });
    else out.push({ kind: '+', line: b[j++]! });
  }
  while (i < n) out.push({ kind: '-', line: a[i++]! });
  while (j < m) out.push({ kind: '+', line: b[j++]! });
  return out;
}

/** The line-by-line edit script from `a` to `b`. */
export function diffLines(a: readonly string[], b: readonly string[]): Edit[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let post = 0;
  while (post < a.length - pre && post < b.length - pre && a[a.length - 1 - post] === b[b.length - 1 - post]) post++;
  return [
    ...a.slice(0, pre).map((line): Edit => ({ kind: ' ', line })),
    ...middleEdits(a.slice(pre, a.length - post), b.slice(pre, b.length - post)),
    ...a.slice(a.length - post).map((line): Edit => ({ kind: ' ', line })),
  ];
}

/** `diff -u` text between two texts ('' when they are equal). */
export function unifiedDiff(before: string, after: string, nameA = 'a', nameB = 'b', context = 3): string {
  if (before === after) return '';
  const split = (s: string): string[] => {
    const l = s.split('\n');
    if (l[l.length - 1] === '') l.pop();
    return l;
  };
  const edits = diffLines(split(before), split(after));
  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  let k = 0;
  while (k < edits.length) {
    if (edits[k]!.kind === ' ') {
      k++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change
    // that is at most 2*context unchanged lines further.
    let start = Math.max(0, k - context);
    while (start < k && edits[start]!.kind !== ' ') start++;
    let end = k;
    let last = k;
    while (end < edits.length) {
      if (edits[end]!.kind !== ' ') last = end;
      else if (end - last > 2 * context) break;
      end++;
    }
    end = Math.min(edits.length, last + context + 1);
    let aLine = 1;
    let bLine = 1;
    for (let i = 0; i < start; i++) {
      if (edits[i]!.kind !== '+') aLine++;
      if (edits[i]!.kind !== '-') bLine++;
    }
    const hunk = edits.slice(start, end);
    const aCount = hunk.filter((e) => e.kind !== '+').length;
    const bCount = hunk.filter((e) => e.kind !== '-').length;
    out.push(`@@ -${aCount === 0 ? aLine - 1 : aLine},${aCount} +${bCount === 0 ? bLine - 1 : bLine},${bCount} @@`);
    for (const e of hunk) out.push(e.kind + e.line);
    k = end;
  }
  return out.join('\n') + '\n';
}
