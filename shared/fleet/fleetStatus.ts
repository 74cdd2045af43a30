import { errorText } from "../errors/errorText";
import { backupView, type HsmBackupView } from "./backupView";
import { drillSummary, latestDrillReport, reportsContainer } from "./drillReports";
import { fleetAttention } from "./fleetAttention";
import type { FleetContext } from "./fleetContext";
import { rbacStatus } from "./rbacStatus";
import { rotationView, type RotationView } from "./rotationView";
import { unrotatableKeys, type UnrotatableKey } from "./unrotatableKeys";

export interface FleetStatus {
  at: string;
  rotation: RotationView;
  backups: HsmBackupView[];
  lastDrill: Record<string, unknown> | null;
  lastDrillError?: string;
  /** Keys the lifecycle will not rotate that need a person (excluded but expiring, at the version limit). */
  unrotatable: UnrotatableKey[];
  /** What could not be read: the status is incomplete. */
  errors: string[];
  /** What needs an operator (see `fleetAttention`). */
  attention: string[];
}

/**
 * The fleet as the workflows' own identities read it, with the findings a person must act on: what `status`
 * prints and the fleet page shows. Read-only: list and read calls only.
 */
export async function fleetStatus(ctx: FleetContext, credential: "managed-identity" | "default" = "managed-identity"): Promise<FleetStatus> {
  const [rotation, backups, drill, rbac, retries] = await Promise.all([
    rotationView(ctx),
    backupView(ctx),
    latestDrillReport(reportsContainer(ctx)).then(
      (r) => ({ report: r === undefined ? null : drillSummary(r) }),
      (e: unknown) => ({ report: null, error: errorText(e) }),
    ),
    rbacStatus(ctx, credential),
    ctx.auditRetries === undefined
      ? { views: undefined }
      : ctx.auditRetries().then(
          (views) => ({ views }),
          (e: unknown) => ({ views: undefined, error: errorText(e) }),
        ),
  ]);
  const errors: string[] = [];
  if (rotation.policyError !== undefined) errors.push(`rotation policy: ${rotation.policyError}`);
  for (const i of rotation.instances) if (!i.ok) errors.push(`${i.instance}: ${i.error}`);
  for (const b of backups) if (b.error !== undefined) errors.push(`backups of ${b.hsm}: ${b.error}`);
  const drillError = "error" in drill ? drill.error : undefined;
  if (drillError !== undefined) errors.push(`drill reports: ${drillError}`);
  errors.push(...rbac.errors);
  if ("error" in retries) errors.push(`audit record retries: ${retries.error}`);
  const unrotatable = unrotatableKeys(rotation);
  const attention = fleetAttention({
    rotation,
    unrotatable,
    backups,
    lastDrill: drillError === undefined ? drill.report : undefined,
    drillSchedule: ctx.settings.schedules.drill,
    reverifySchedule: ctx.settings.schedules.reverify,
    rbacAttention: rbac.attention,
    ...(retries.views === undefined ? {} : { auditRetries: retries.views }),
    now: new Date(rotation.at),
  });
  return { at: rotation.at, rotation, backups, lastDrill: drill.report, ...(drillError === undefined ? {} : { lastDrillError: drillError }), unrotatable, errors, attention };
}

const DAY_MS = 86_400_000;

/** One key of the fleet page: its current version's creation (the last rotation), its expiry and what the sweep decides. */
export interface FleetKey {
  name: string;
  enabled: boolean;
  lastRotatedOn: string | null;
  expiresOn: string | null;
  /** Whole days until expiry, rounded down (so negative once expired); null for a key without an expiry. */
  daysToExpiry: number | null;
  /** "rotate: nearExpiry", "skip: excluded", "notify: P7D", or "none". */
  decision: string;
}

/** An instance's keys, soonest expiry first (keys without an expiry last). */
export function fleetKeys(i: Extract<RotationView["instances"][number], { ok: true }>, nowMs: number): FleetKey[] {
  const decisions = new Map<string, string>();
  for (const d of i.due) decisions.set(d.name, `rotate: ${d.decision.reason}`);
  for (const s of i.skippedKeys ?? []) if (s.decision.kind === "skip") decisions.set(s.key, `skip: ${s.decision.reason}`);
  for (const n of i.notices) if (!decisions.has(n.name)) decisions.set(n.name, `notify: ${n.stage}`);
  return (i.inventory ?? [])
    .map((k) => ({
      name: k.name,
      enabled: k.enabled,
      lastRotatedOn: k.createdOn,
      expiresOn: k.expiresOn,
      daysToExpiry: k.expiresOn === null ? null : Math.floor((Date.parse(k.expiresOn) - nowMs) / DAY_MS),
      decision: decisions.get(k.name) ?? "none",
    }))
    .sort((a, b) => (a.daysToExpiry ?? Infinity) - (b.daysToExpiry ?? Infinity) || a.name.localeCompare(b.name));
}

/**
 * The JSON of `status --json` and `GET /api/fleet?format=json` (one documented shape, see README "Fleet page").
 * Fields are only ever added; `schemaVersion` changes if one is removed or changes meaning.
 */
export function fleetStatusJson(r: FleetStatus, settings: FleetContext["settings"]): unknown {
  const now = Date.parse(r.at);
  return {
    schemaVersion: 1,
    at: r.at,
    ...(r.rotation.policyError !== undefined ? { policyError: r.rotation.policyError } : {}),
    fleet: [
      ...settings.hsms.map((h) => ({ name: h.name, kind: "managedHsm", role: h.role, url: h.url })),
      ...settings.vaults.map((v) => ({ name: v.name, kind: "vault", role: "vault", url: v.url })),
    ],
    instances: r.rotation.instances.map((i) => {
      if (!i.ok) return { name: i.instance, kind: i.kind, error: i.error };
      const keys = fleetKeys(i, now);
      return {
        name: i.instance,
        kind: i.kind,
        listed: i.listed,
        keys,
        due: i.due.map((d) => ({ name: d.name, version: d.version, reason: d.decision.reason, rule: d.decision.rule, dueOn: d.decision.dueOn, expiresOn: d.expiresOn ?? null, instanceId: d.instanceId })),
        notices: i.notices.map((n) => ({ name: n.name, stage: n.stage, expiresOn: n.expiresOn ?? null })),
        skipped: i.skipped,
      };
    }),
    backups: r.backups.map((b) => ({
      hsm: b.hsm,
      count: b.backups.length,
      lastVerified: b.lastVerified === null ? null : { folder: b.lastVerified.folder, completedAt: b.lastVerified.completedAt, verifiedAt: b.lastVerified.verifiedAt ?? null },
      rpoNowMs: b.rpoNowMs,
      rpoTargetMs: b.rpoTargetMs,
      rpoMet: b.rpoMet,
      lastReverification: b.lastReverification,
      reverifyFailed: b.reverifyFailed,
      ...(b.error !== undefined ? { error: b.error } : {}),
    })),
    unrotatable: r.unrotatable,
    lastDrill: r.lastDrill,
    ...(r.lastDrillError !== undefined ? { lastDrillError: r.lastDrillError } : {}),
    errors: r.errors,
    attention: r.attention,
  };
}
