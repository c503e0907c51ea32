// A light string-width for the bundled CLI: yargs' help layout (cliui) measures every string with
// the real string-width, whose Intl.Segmenter start-up costs ~100 ms per run. Help text here is
// Latin script, so counting code points (ANSI escapes removed) gives the same layout.
const ANSI = /\u001B\[[0-9;]*[A-Za-z]/g;
export default function stringWidth(s) {
  if (typeof s !== 'string' || s.length === 0) return 0;
  let n = 0;
  for (const ch of s.replace(ANSI, '')) {
    const c = ch.codePointAt(0);
    if (c >= 0x20 && !(c >= 0x7f && c < 0xa0) && !(c >= 0x300 && c < 0x370)) n++;
  }
  return n;
}
