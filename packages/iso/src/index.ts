export { IsoCode } from './errors.js';
export { IsoImage, type IsoImageOptions, type IsoSummary } from './iso-image.js';
export { planImage, type IsoOptions, type IsoBootOptions, type Plan } from './plan.js';
export { scanTree, hostPath, treePath, IsoEntry, IsoDir, DEFAULT_LIMITS, type IsoTree, type IsoLimits, type ScanOptions, type EntryKind } from './tree.js';
export { writeImageFile, tempPathFor, type WriteImageOptions } from './write-image.js';
export { isoBaseName, jolietBaseName, compareIdentifiers, JOLIET_MAX_NAME, JOLIET_MAX_PATH_BYTES, type IsoLevel } from './names.js';
export { MAX_SECTION_BYTES } from './directory-builder.js';
