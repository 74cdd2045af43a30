/**
 * The attention rules `status` and the fleet page share, and the page's escaping: each rule fires on its own
 * finding (keys nobody rotates, an invalid policy, no verified backup, RPO breached, a failed or overdue drill,
 * RBAC drift, an audit record whose retry gave up or is still pending) and stays quiet on a healthy fleet; text from the services is shown as text, never as markup.
 */
import { describe, expect, it } from "vitest";
import type { Settings } from "../../shared/config/settings";
import type { HsmBackupView } from "../../shared/fleet/backupView";
import { fleetAttention, type AttentionInputs } from "../../shared/fleet/fleetAttention";
import type { AuditRetryView } from "../../shared/fleet/auditRetryAttention";
import type { FleetStatus } from "../../shared/fleet/fleetStatus";
import { renderFleetHtml } from "../../shared/fleet/renderFleetHtml";
import type { RotationView } from "../../shared/fleet/rotationView";
import { unrotatableKeys } from "../../shared/fleet/unrotatableKeys";

const now = new Date("2026-12-06T12:00:00Z");
const HOUR = 3_600_000;
const rotation = (skipped: NonNullable<Extract<RotationView["instances"][number], { ok: true }>["skippedKeys"]> = []): RotationView => ({
  at: now.toISOString(),
  instances: [{ ok: true, kind: "managedHsm", instance: "primary", at: now.toISOString(), due: [], notices: [], skipped: {}, skippedKeys: skipped, inventory: [], listed: skipped.length, requests: { keyPages: 1, versionPages: 0, gets: 0 } }],
});
const verified = (ageMs: number, rpoTargetMs = 26 * HOUR): HsmBackupView => {
  const completedAt = new Date(now.getTime() - ageMs).toISOString();
  return { hsm: "primary", backups: [], lastVerified: { folder: "mhsm-primary-1", completedAt, verifiedAt: completedAt } as HsmBackupView["lastVerified"], rpoNowMs: ageMs, rpoTargetMs, rpoMet: ageMs <= rpoTargetMs, lastReverification: null, reverifyFailed: [] };
};
const passedDrill = { drillId: "drill:primary:dr:full:1", verdict: "passed", finishedAt: new Date(now.getTime() - HOUR).toISOString(), warnings: [] };
const healthy: AttentionInputs = { rotation: rotation(), unrotatable: [], backups: [verified(HOUR)], lastDrill: passedDrill, drillSchedule: "0 0 4 * * 0", rbacAttention: [], now };

describe("fleetAttention", () => {
  it("a healthy fleet needs nothing", () => {
    expect(fleetAttention(healthy)).toEqual([]);
  });

  it("keys nobody rotates: excluded but expiring, and at the version limit", () => {
    const r = rotation([
      { instance: "primary", key: "legacy", decision: { kind: "skip", reason: "excluded", detail: "pinned", notice: "P7D" } },
      { instance: "primary", key: "busy", decision: { kind: "skip", reason: "versionLimit", rule: "r", detail: "has 100 versions" } },
      { instance: "primary", key: "quiet", decision: { kind: "skip", reason: "excluded", detail: "pinned" } },
    ]);
    const items = fleetAttention({ ...healthy, rotation: r, unrotatable: unrotatableKeys(r) });
    expect(items).toEqual([
      expect.stringMatching(/^primary\/legacy: Not rotated: excluded by the rotation policy \(pinned\)\. Fix: .* \(expires within P7D\)$/),
      expect.stringMatching(/^primary\/busy: Not rotated: at the Managed HSM version limit; this key has 100 versions$/),
    ]);
  });

  it("an invalid policy means no key rotates", () => {
    expect(fleetAttention({ ...healthy, rotation: { at: now.toISOString(), policyError: "rules[0].maxAge: not an ISO duration", instances: [] } })).toEqual([
      "the rotation policy is invalid, so no key is rotated until it is fixed: rules[0].maxAge: not an ISO duration",
    ]);
  });

  it("no verified backup, and an RPO breached", () => {
    expect(fleetAttention({ ...healthy, backups: [{ ...verified(HOUR), lastVerified: null, rpoNowMs: null, rpoMet: false }] })).toEqual(['primary has no verified backup. Fix: run "hsm-lifecycle backup --hsm primary".']);
    expect(fleetAttention({ ...healthy, backups: [verified(30 * HOUR)] })).toEqual(["primary: RPO now 1d 6h 0m 0s exceeds the target 1d 2h 0m 0s. Fix: run a backup and check the backup timer."]);
  });

  it("no drill, a failed drill, an overdue drill; unreadable reports add nothing here (they are errors)", () => {
    expect(fleetAttention({ ...healthy, lastDrill: null })).toEqual(['no restore drill has run yet. Fix: run "hsm-lifecycle drill".']);
    expect(fleetAttention({ ...healthy, lastDrill: { ...passedDrill, verdict: "failed" } })).toEqual([`the last drill ${passedDrill.drillId} failed. Fix: see "hsm-lifecycle report --latest".`]);
    const overdue = fleetAttention({ ...healthy, lastDrill: { ...passedDrill, finishedAt: new Date(now.getTime() - 10 * 24 * HOUR).toISOString() } });
    expect(overdue).toEqual([expect.stringMatching(/^the last drill finished 10d 0h 0m 0s ago, but DRILL_SCHEDULE/)]);
    expect(fleetAttention({ ...healthy, lastDrill: undefined })).toEqual([]);
  });

  it("RBAC drift is listed as given", () => {
    expect(fleetAttention({ ...healthy, rbacAttention: ["RBAC drift: primary: x"] })).toEqual(["RBAC drift: primary: x"]);
  });

  it("an audit record whose retry gave up is missing; one pending over an hour is not yet written; written ones need nobody", () => {
    const retry = (blob: string, over: Partial<AuditRetryView>): AuditRetryView => ({
      instanceId: `audit-retry:${blob.replace(/\//g, ":")}`,
      runtimeStatus: "Completed",
      createdTime: new Date(now.getTime() - 80 * HOUR).toISOString(),
      blobName: blob,
      workload: "drill",
      ...over,
    });
    const gaveUp = retry("drills/2026-12-03/d1.json", { customStatus: { stage: "gaveUp", attempts: 10, error: "[StorageUnreachable] no answer" }, output: { kind: "gaveUp", blobName: "drills/2026-12-03/d1.json", attempts: 10, error: "still not written…" } });
    const waiting = (ageMs: number, blob: string): AuditRetryView =>
      retry(blob, { runtimeStatus: "Running", workload: "rotation", createdTime: new Date(now.getTime() - ageMs).toISOString(), customStatus: { stage: "waiting", attempt: 3, waitingUntil: "2026-12-06T13:00:00.000Z", error: "[ServiceUnavailable] 503" } });
    const done = [retry("backup/p/x-failed.json", { output: { kind: "written", attempts: 1 } }), retry("backup/p/y-failed.json", { output: { kind: "unchanged", attempts: 2 } })];
    const items = fleetAttention({ ...healthy, auditRetries: [...done, waiting(30 * 60_000, "rotation/requests/r1/000-requested.json"), waiting(2 * HOUR, "rotation/requests/r2/000-requested.json"), gaveUp] });
    expect(items).toEqual([
      "audit record drills/2026-12-03/d1.json is missing: its retry audit-retry:drills:2026-12-03:d1.json gave up after 10 attempts over 72 h (last: [StorageUnreachable] no answer). Fix: restore the drill identity's write access to the audit container (AUDIT_CONTAINER), then re-run the workflow, or write the record from the input of durable instance audit-retry:drills:2026-12-03:d1.json.",
      "audit record not yet written: rotation/requests/r2/000-requested.json, retrying for 2h 0m 0s, next attempt (3) at 2026-12-06T13:00:00.000Z (last: [ServiceUnavailable] 503). Fix: check that the rotation identity can write to the audit container (AUDIT_CONTAINER); the retry writes it once it can.",
    ]);
    expect(fleetAttention({ ...healthy, auditRetries: done })).toEqual([]);
    expect(fleetAttention({ ...healthy, auditRetries: [retry("recovery/r.json", { runtimeStatus: "Failed", workload: "recovery" })] })).toEqual([expect.stringMatching(/^audit record recovery\/r\.json is missing: its retry .* ended failed before writing it\. Fix: restore the recovery identity's/)]);
  });
});

describe("renderFleetHtml", () => {
  it("shows markup from the services as text and carries no script", () => {
    const status: FleetStatus = {
      at: now.toISOString(),
      rotation: rotation(),
      backups: [{ ...verified(HOUR), hsm: "<img src=x onerror=alert(1)>" }],
      lastDrill: { ...passedDrill, drillId: '"><script>alert(1)</script>' },
      unrotatable: [],
      errors: ["<b>boom</b>"],
      attention: ["<script>alert(2)</script>"],
    };
    const settings = { hsms: [{ name: "primary", role: "primary", url: "https://h/?a=<x>" }], vaults: [] } as unknown as Readonly<Settings>;
    const html = renderFleetHtml(status, settings);
    expect(html).not.toMatch(/<script|<img|<b>/i);
    expect(html).toContain("&lt;script&gt;alert(2)&lt;/script&gt;");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("https://h/?a=&lt;x&gt;");
  });
});
