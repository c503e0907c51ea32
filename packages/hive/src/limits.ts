/**
 * Named limits for walking untrusted hives. Each bounds a loop or an allocation whose size
 * comes from disk; the reason is next to it. Callers may lower or raise them per open.
 */
export interface HiveLimits {
  /** Subkeys of one key (hivex HIVEX_MAX_SUBKEYS: "stop really stupid stuff and/or exploits"). */
  maxSubkeys: number;
  /** Values of one key (hivex HIVEX_MAX_VALUES). */
  maxValues: number;
  /** Bytes of one value's data (hivex HIVEX_MAX_VALUE_LEN, 8 MB; Windows' practical limit is ~1 MB in 1.3 hives). */
  maxValueBytes: number;
  /** Key depth below the root: Windows allows 512 levels (MSDN "Registry Element Size Limits"). */
  maxDepth: number;
  /** ri records nested in ri records: 32, as hivex after CVE-2021-3622 (Windows itself never nests). */
  maxRiDepth: number;
  /** Keys visited by one walk or export, so a DAG of shared subtrees cannot blow up exponentially. */
  maxWalkNodes: number;
}

export const DEFAULT_LIMITS: Readonly<HiveLimits> = Object.freeze({
  maxSubkeys: 70000,
  maxValues: 110000,
  maxValueBytes: 8_000_000,
  maxDepth: 512,
  maxRiDepth: 32,
  maxWalkNodes: 20_000_000,
});
