import { forEachLimited } from "../../app/forEachLimited";
import { decideRotation, type NoticeStage, type RotationDecision, type SkipReason } from "../decideRotation";
import { toEpochMs, type KeyListing } from "../keyListing";
import { planRotation, type PlanEntry } from "../planRotation";
import type { RotationPolicy } from "../policyTypes";
import { noticeEventId, rotationInstanceId } from "../rotationIds";
import { configuredInstance, decisionTime, type RotationDeps, type RotationInstance } from "./deps";
import { rotationFailure } from "./failure";
import { currentOf, toKeyListing, versionedKeyId } from "./keyFacts";

export interface ListDueKeysInput {
  instance: RotationInstance;
  policy: RotationPolicy;
  /** Decision instant (ISO); the orchestration passes its `currentUtcDateTime`. Default: the deps' clock. */
  now?: string;
  /** Return every skipped key with its reason too (the dry run); the sweep leaves it off to keep histories small. */
  includeSkipped?: boolean;
  /** Parallel versions-page reads for due keys (default 8). */
  concurrency?: number;
}

/** A key to rotate, with what the per-key orchestration needs: its exact current version and instance id. */
export interface DueKey {
  name: string;
  /** The current version (from the versions page): the rotation id names it. */
  version: string;
  keyId: string;
  /** `rotate:{vault}:{key}:{version}`. */
  instanceId: string;
  decision: Extract<RotationDecision, { kind: "rotate" }>;
  versionCount: number;
  createdOn?: string;
  expiresOn?: string;
}

/** A Managed HSM key that reached a notice stage: one KeyNearExpiry / KeyExpired event per key, version and stage. */
export interface NoticeKey {
  name: string;
  version: string;
  keyId: string;
  stage: NoticeStage;
  /** `notice:{vault}:{key}:{version}:{stage}`: the event id, so a re-run publishes the same event id again. */
  eventId: string;
  notBefore?: string;
  expiresOn?: string;
  /** Set when the lifecycle will not rotate this key (excluded, at the version limit): what a person must do. */
  manualAction?: string;
}

/** One key as a list page shows its current version: when it was created (its last rotation) and when it expires. */
export interface KeyInventoryEntry {
  name: string;
  enabled: boolean;
  createdOn: string | null;
  expiresOn: string | null;
}

export interface ListDueKeysOutput {
  instance: string;
  at: string;
  due: DueKey[];
  /** Managed HSM only: vaults send their own near-expiry events. */
  notices: NoticeKey[];
  /** Keys neither due nor in a notice stage, counted by reason. */
  skipped: Partial<Record<SkipReason, number>>;
  /** With `includeSkipped`: every skipped key and why. */
  skippedKeys?: PlanEntry[];
  /** With `includeSkipped`: every listed key's current version as the list page shows it (the fleet page's key table). */
  inventory?: KeyInventoryEntry[];
  listed: number;
  /**
   * Requests sent: key list pages, versions pages (one or more per due or noticed key), and GETs only for
   * keys whose two newest versions share a creation second.
   */
  requests: { keyPages: number; versionPages: number; gets: number };
}

/**
 * Inventory of one instance. Lists keys with LIST PAGES ONLY (their properties carry `exp` and `created`:
 * no per-key GET), lets `planRotation` decide, then reads the versions page only for keys that are due (and
 * for HSM keys in a notice stage), because the rotation id and the notice id need the current version and
 * Managed HSM's 100-version limit needs the count.
 */
export async function listDueKeys(input: ListDueKeysInput, deps: RotationDeps): Promise<ListDueKeysOutput> {
  const { policy } = input;
  const instance = configuredInstance(input.instance, deps, "listDueKeys");
  const now = decisionTime(input, deps);
  const client = deps.clients.keys(instance.url);
  const listings: KeyListing[] = [];
  const propsByName = new Map<string, { notBefore?: Date }>();
  let keyPages = 0;
  try {
    for await (const page of client.listPropertiesOfKeys().byPage()) {
      keyPages++;
      for (const p of page) {
        listings.push(toKeyListing(p));
        propsByName.set(p.name, p.notBefore === undefined ? {} : { notBefore: p.notBefore });
      }
    }
  } catch (e) {
    throw rotationFailure(e, instance, "listPropertiesOfKeys", "");
  }

  const plan = planRotation([{ instance, keys: listings }], policy, now);
  const needVersions = [
    ...plan.rotate.map((e) => e.key),
    ...(instance.kind === "managedHsm" ? plan.notify.map((e) => e.key) : []),
    // Excluded HSM keys in a notice stage: nobody rotates them, so their notice must go out.
    ...(instance.kind === "managedHsm" ? plan.skip.filter((e) => e.decision.kind === "skip" && e.decision.notice !== undefined).map((e) => e.key) : []),
  ];
  let versionPages = 0;
  let gets = 0;
  const versions = new Map<string, { current: { version: string; createdOn?: Date; expiresOn?: Date; notBefore?: Date }; count: number }>();
  await forEachLimited(needVersions, input.concurrency ?? 8, async (name) => {
    const all: { version?: string; createdOn?: Date; expiresOn?: Date; notBefore?: Date }[] = [];
    try {
      for await (const page of client.listPropertiesOfKeyVersions(name).byPage()) {
        versionPages++;
        all.push(...page);
      }
    } catch (e) {
      // Deleted between the two listings: it simply drops out of this sweep instead of failing the instance.
      if ((e as { statusCode?: number }).statusCode === 404) return;
      throw rotationFailure(e, instance, "listPropertiesOfKeyVersions", name);
    }
    const pick = currentOf(all);
    let current = pick.latest;
    if (pick.ambiguous && all.length > 0) {
      // Two versions created in the same second: only the service knows which one is current.
      try {
        const key = await client.getKey(name);
        current = all.find((v) => v.version === key.properties.version) ?? key.properties;
        gets++;
      } catch (e) {
        throw rotationFailure(e, instance, "getKey", name);
      }
    }
    if (current?.version !== undefined) versions.set(name, { current: { ...current, version: current.version }, count: all.length });
  });

  const out: ListDueKeysOutput = { instance: instance.name, at: now.toISOString(), due: [], notices: [], skipped: {}, listed: listings.length, requests: { keyPages, versionPages, gets } };
  const skippedKeys: PlanEntry[] = [...plan.skip];
  const byName = new Map(listings.map((l) => [l.name, l]));
  const addNotice = (name: string, stage: NoticeStage, manualAction?: string): void => {
    const v = versions.get(name);
    if (instance.kind !== "managedHsm" || v === undefined) return;
    const notice: NoticeKey = {
      name,
      version: v.current.version,
      keyId: versionedKeyId(instance.url, name, v.current.version),
      stage,
      eventId: noticeEventId({ vaultUrl: instance.url, name, version: v.current.version, stage }),
    };
    const nbf = v.current.notBefore ?? propsByName.get(name)?.notBefore;
    if (nbf !== undefined) notice.notBefore = nbf.toISOString();
    const exp = v.current.expiresOn ?? byName.get(name)?.expiresOn;
    if (exp !== undefined) notice.expiresOn = new Date(exp).toISOString();
    if (manualAction !== undefined) notice.manualAction = manualAction;
    out.notices.push(notice);
  };

  for (const entry of plan.rotate) {
    const v = versions.get(entry.key);
    const listing = byName.get(entry.key);
    if (v === undefined || listing === undefined) continue;
    // Decide again with the version count: a Managed HSM key at 100 versions is skipped, not failed.
    const decision = decideRotation(listing, instance, policy, now, { versionCount: v.count });
    if (decision.kind === "skip") skippedKeys.push({ instance: instance.name, key: entry.key, decision });
    if (decision.kind === "skip" && decision.notice !== undefined) addNotice(entry.key, decision.notice, manualActionOf(decision));
    if (decision.kind === "notify") addNotice(entry.key, decision.stage);
    if (decision.kind !== "rotate") continue;
    const due: DueKey = {
      name: entry.key,
      version: v.current.version,
      keyId: versionedKeyId(instance.url, entry.key, v.current.version),
      instanceId: rotationInstanceId({ vaultUrl: instance.url, name: entry.key, version: v.current.version }),
      decision,
      versionCount: v.count,
    };
    if (listing.createdOn !== undefined) due.createdOn = new Date(listing.createdOn).toISOString();
    if (listing.expiresOn !== undefined) due.expiresOn = new Date(listing.expiresOn).toISOString();
    out.due.push(due);
    if (decision.notice !== undefined) addNotice(entry.key, decision.notice);
  }
  for (const entry of plan.notify) {
    if (entry.decision.kind === "notify") addNotice(entry.key, entry.decision.stage);
  }
  for (const entry of plan.skip) {
    if (entry.decision.kind === "skip" && entry.decision.notice !== undefined) addNotice(entry.key, entry.decision.notice, manualActionOf(entry.decision));
  }
  for (const entry of skippedKeys) {
    if (entry.decision.kind !== "skip") continue;
    out.skipped[entry.decision.reason] = (out.skipped[entry.decision.reason] ?? 0) + 1;
  }
  if (input.includeSkipped === true) {
    out.skippedKeys = skippedKeys;
    out.inventory = listings.map((l) => ({ name: l.name, enabled: l.enabled !== false, createdOn: isoOrNull(l.createdOn), expiresOn: isoOrNull(l.expiresOn) }));
  }
  return out;
}

function isoOrNull(value: Date | string | undefined): string | null {
  const ms = toEpochMs(value);
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** What a person must do about a key the lifecycle will not rotate (the notice carries it as `ManualAction`). */
export function manualActionOf(decision: Extract<RotationDecision, { kind: "skip" }>): string {
  if (decision.reason === "versionLimit") return `Not rotated: at the Managed HSM version limit; this key ${decision.detail ?? "has too many versions"}`;
  return `Not rotated: excluded by the rotation policy (${decision.detail ?? "no reason given"}). Fix: rotate it by hand or extend its expiry before it expires.`;
}
