import type { ManifestKey } from "../backup/backupManifest";

export type ProbeFamily = "RSA" | "EC" | "oct";

export interface ProbeTarget {
  name: string;
  version: string;
  kty: string;
  family: ProbeFamily;
  /** The version may not be in the backup as recorded (created in the job's start second, or changed during the job). */
  unsure?: boolean;
}

export interface ProbeSample {
  targets: ProbeTarget[];
  /** Key families present in the backup that got no probe, with why (e.g. the GET budget ran out). */
  notProbed: string[];
}

/** Single-key GETs one probe costs: the SDK's CryptographyClient reads the key once on each HSM. */
export const GETS_PER_PROBE = 2;

/**
 * Picks up to `perFamily` keys of each family (RSA, EC, oct) to probe, round-robin across families so a small
 * budget still covers every type, never more than `getBudget / GETS_PER_PROBE` keys in total. Only a version
 * that is enabled, already valid and not expired at `now` can be probed (the service refuses the others).
 * Deterministic: keys in name order.
 */
export function chooseProbeSample(keys: readonly ManifestKey[], now: Date, getBudget: number, perFamily = 1): ProbeSample {
  const byFamily = new Map<ProbeFamily, ProbeTarget[]>();
  const notProbed: string[] = [];
  for (const key of [...keys].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const family = familyOf(key.kty);
    if (family === undefined) {
      if (key.kty === null) notProbed.push(`${key.name}: key type unknown (the backup's GET budget did not reach it).`);
      continue;
    }
    // A version surely in the backup as recorded first: one created in the job's start second may be missing from
    // it, one changed during the job may be restored with its earlier attributes. Such a version is probed only
    // when the key has no other, and marked so a DR without it is not taken for a failed restore.
    const unsure = new Set([...(key.versionsAtBackupStart ?? []), ...(key.versionsChangedDuringBackup ?? [])]);
    const valid = [...key.versions].reverse().filter((v) => v.enabled !== false && !after(v.notBefore, now) && !before(v.expiresOn, now));
    const usable = valid.find((v) => !unsure.has(v.version)) ?? valid[0];
    if (usable === undefined) continue;
    const list = byFamily.get(family) ?? [];
    list.push({ name: key.name, version: usable.version, kty: key.kty as string, family, ...(unsure.has(usable.version) ? { unsure: true } : {}) });
    byFamily.set(family, list);
  }
  const maxTotal = Math.floor(Math.max(0, getBudget) / GETS_PER_PROBE);
  const targets: ProbeTarget[] = [];
  const families: ProbeFamily[] = ["RSA", "EC", "oct"];
  for (let round = 0; round < perFamily; round++) {
    for (const f of families) {
      const next = byFamily.get(f)?.[round];
      if (next === undefined) continue;
      if (targets.length >= maxTotal) {
        notProbed.push(`${next.name} (${f}): not probed, the single-key GET budget (${getBudget}) is spent.`);
        continue;
      }
      targets.push(next);
    }
  }
  return { targets, notProbed };
}

export function familyOf(kty: string | null): ProbeFamily | undefined {
  if (kty === "RSA" || kty === "RSA-HSM") return "RSA";
  if (kty === "EC" || kty === "EC-HSM") return "EC";
  if (kty === "oct" || kty === "oct-HSM") return "oct";
  return undefined;
}

function after(iso: string | null, now: Date): boolean {
  return iso !== null && Date.parse(iso) > now.getTime();
}

function before(iso: string | null, now: Date): boolean {
  return iso !== null && Date.parse(iso) <= now.getTime();
}
