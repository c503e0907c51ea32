// yargs imports only strictEqual and notStrictEqual from node:assert, for its own sanity checks
// (one of which fails on purpose at every start, when it looks for a package.json that is not
// there). Loading node:assert and building its AssertionError (which loads node's colour and
// stderr stream code to format the message) costs ~15 ms of every start; these do the same job.
function fail(message, actual, expected, op) {
  throw Object.assign(new Error(message ?? `${String(actual)} ${op} ${String(expected)}`), { actual, expected, operator: op });
}
export function strictEqual(actual, expected, message) {
  if (!Object.is(actual, expected)) fail(message, actual, expected, 'strictEqual');
}
export function notStrictEqual(actual, expected, message) {
  if (Object.is(actual, expected)) fail(message, actual, expected, 'notStrictEqual');
}
