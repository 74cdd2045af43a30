import type { ManifestKey } from "../backup/backupManifest";

/** One key version as a list page on the DR HSM shows it (JSON-safe). */
export interface ObservedKeyVersion {
  version: string;
  enabled: boolean | null;
  notBefore: string | null;
  expiresOn: string | null;
  tags: Record<string, string>;
}

export interface ObservedKey {
  name: string;
  versions: ObservedKeyVersion[];
}

export interface InventoryComparison {
  keysExpected: number;
  keysFound: number;
  versionsExpected: number;
  versionsFound: number;
  /** One line per difference, e.g. `signer/3f…: expiresOn 2027-01-01T00:00:00.000Z expected, found none`. */
  problems: string[];
}

/**
 * The manifest's inventory against what the DR HSM lists after the restore: same keys, same versions, and per
 * version the same enabled flag, not-before, expiry and tags. A full restore replaces everything, so a key on
 * DR that the backup did not hold is a problem too (the restore did not take, or something wrote to DR).
 * Versions and keys the manifest marks as created during the backup job (`versionsDuringBackup`,
 * `keysDuringBackup`) are neither expected nor rejected, and those created in the job's start second
 * (`versionsAtBackupStart`) are checked when present but not required: the backup may or may not hold them.
 * Versions whose attributes changed during the job (`versionsChangedDuringBackup`) must be present, but their
 * attributes are not compared.
 */
export function compareInventory(expected: readonly ManifestKey[], observed: readonly ObservedKey[], keysDuringBackup: readonly string[] = []): InventoryComparison {
  const problems: string[] = [];
  const found = new Map(observed.map((k) => [k.name, k]));
  let versionsExpected = 0;
  let versionsFound = 0;
  let keysExpected = 0;
  for (const key of expected) {
    const optional = new Set(key.versionsAtBackupStart ?? []);
    const attributesMoved = new Set(key.versionsChangedDuringBackup ?? []);
    const required = key.versions.filter((v) => !optional.has(v.version)).length;
    const dr = found.get(key.name);
    if (dr === undefined) {
      if (required === 0) continue; // every version may post-date the backup's start
      keysExpected++;
      versionsExpected += required;
      problems.push(`${key.name}: missing on DR (${required} version${required === 1 ? "" : "s"} expected).`);
      continue;
    }
    keysExpected++;
    const drVersions = new Map(dr.versions.map((v) => [v.version, v]));
    for (const v of key.versions) {
      const got = drVersions.get(v.version);
      if (got === undefined) {
        if (optional.has(v.version)) continue;
        versionsExpected++;
        problems.push(`${key.name}/${v.version}: version missing on DR.`);
        continue;
      }
      versionsExpected++;
      versionsFound++;
      const at = `${key.name}/${v.version}`;
      if (attributesMoved.has(v.version)) continue; // changed during the job: the backup may hold either state
      if ((v.enabled ?? true) !== (got.enabled ?? true)) problems.push(`${at}: enabled ${String(v.enabled)} expected, found ${String(got.enabled)}.`);
      if (!sameInstant(v.notBefore, got.notBefore)) problems.push(`${at}: notBefore ${v.notBefore ?? "none"} expected, found ${got.notBefore ?? "none"}.`);
      if (!sameInstant(v.expiresOn, got.expiresOn)) problems.push(`${at}: expiresOn ${v.expiresOn ?? "none"} expected, found ${got.expiresOn ?? "none"}.`);
      const tagProblem = compareTags(v.tags, got.tags);
      if (tagProblem !== undefined) problems.push(`${at}: ${tagProblem}`);
    }
    const known = new Set([...key.versions.map((v) => v.version), ...(key.versionsDuringBackup ?? [])]);
    for (const v of dr.versions) {
      if (!known.has(v.version)) problems.push(`${key.name}/${v.version}: on DR but not in the backup.`);
    }
  }
  const expectedNames = new Set(expected.map((k) => k.name));
  const tolerated = new Set(keysDuringBackup);
  for (const k of observed) {
    if (!expectedNames.has(k.name) && !tolerated.has(k.name)) problems.push(`${k.name}: on DR but not in the backup (the restore did not replace DR's keys).`);
  }
  return { keysExpected, keysFound: observed.filter((k) => expectedNames.has(k.name)).length, versionsExpected, versionsFound, problems };
}

function sameInstant(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return Date.parse(a) === Date.parse(b);
}

/** Tag names and values are compared, but only the NAMES are reported: tag values can be sensitive. */
function compareTags(expected: Record<string, string>, found: Record<string, string>): string | undefined {
  const names = new Set([...Object.keys(expected), ...Object.keys(found)]);
  const differing = [...names].filter((n) => expected[n] !== found[n]).sort();
  return differing.length === 0 ? undefined : `tags differ (${differing.join(", ")}).`;
}
