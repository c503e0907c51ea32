// The bundle is CommonJS (so the launcher can give V8 a code cache); ESM dependencies that read
// import.meta.url get the bundle file's URL instead.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
