import type { ContainerClient } from "@azure/storage-blob";
import { rotationInstances } from "../../shared/config/settings";
import { redactSecrets } from "../../shared/errors/redactSecrets";
import { principalIdOf } from "../../shared/hsm/principalIdOf";
import { LIFECYCLE_TABLE } from "../../shared/lifecycleLog/lifecycleRow";
import { LOCAL_ROWS_PREFIX } from "../../shared/lifecycleLog/lifecycleRowSink";
import { diffRbac, rbacClientFor } from "../../shared/rbac/rbacApply";
import { describeDrift } from "../../shared/rbac/rbacDiff";
import { readLiveRbac } from "../../shared/rbac/rbacLiveState";
import { loadRotationConfig } from "../../shared/rotation/activities/loadConfig";
import { addDuration, parseIsoDuration } from "../../shared/rotation/isoDuration";
import { selectRule } from "../../shared/rotation/selectRule";
import type { DrillReport } from "../../shared/drill/drillReport";
import { backupView } from "../../shared/fleet/backupView";
import type { CliContext } from "../cliContext";
import { errorText } from "../../shared/errors/errorText";
import { rbacAdminCredential, rbacConnection, rbacPlanOf } from "../../shared/fleet/rbacContext";
import { readAuditEntries, type AuditEntry } from "./auditRows";
import { CONTROL_MAPPINGS } from "./evidenceControls";

export const EVIDENCE_SCHEMA = "hsm-lifecycle/evidence";

export interface EvidencePeriod {
  from: Date;
  to: Date;
}

type Json = Record<string, unknown>;

/** Retention the deployment declares (infra/modules/lifecycleLog.bicep, monitoring.bicep): stated, not measured. */
const DEPLOYED_RETENTION = { interactiveDays: 365, totalDays: 2557 };

/**
 * Gathers the evidence pack from the same sources the app and `status` use: keys as the rotation identity lists
 * them (list pages only), backups as the backup identity lists them (authenticated manifests only), drill reports,
 * RBAC as the administrator reads it (diffed with the plan), and every audit record. Read-only. A source that
 * cannot be read is an entry in `unavailable`, never a silent gap.
 */
export async function collectEvidence(ctx: CliContext, period: EvidencePeriod, credential: "managed-identity" | "default"): Promise<Json> {
  const unavailable: string[] = [];
  const inPeriod = (iso: string | undefined): boolean => iso !== undefined && Date.parse(iso) >= period.from.getTime() && Date.parse(iso) <= period.to.getTime();
  const audit = ctx.container("drill", ctx.settings.storage.auditContainer);
  const reports = ctx.container("drill", ctx.settings.storage.drillReportsContainer);
  const entries = await readAuditEntries(audit).catch((e: unknown) => {
    unavailable.push(`audit records: ${errorText(e)}`);
    return [] as AuditEntry[];
  });
  const drills = await readDrillReports(reports).catch((e: unknown) => {
    unavailable.push(`drill reports: ${errorText(e)}`);
    return [] as Array<{ blob: string; text: string; report: DrillReport; sealed: boolean }>;
  });
  const [keys, backups, access] = await Promise.all([keySection(ctx, entries, drills.map((d) => d.report), unavailable), backupSection(ctx, unavailable), accessSection(ctx, credential, unavailable)]);

  const drillSection = drills
    .filter((d) => inPeriod(d.report.startedAt))
    .map(({ report: r, blob, sealed }) => ({
      drillId: r.drillId,
      kind: r.kind,
      primary: r.primary.name,
      target: r.target.name,
      verdict: r.verdict,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      ranBy: r.principalId ?? null,
      backupRestored: r.backup?.folder ?? null,
      rtoMs: r.objectives?.rtoMs ?? null,
      rtoTargetMs: r.objectives?.rtoTargetMs ?? ctx.settings.objectives.rtoMs,
      rtoMet: r.objectives?.rtoMet ?? false,
      rpoMs: r.objectives?.rpoMs ?? null,
      rpoTargetMs: r.objectives?.rpoTargetMs ?? ctx.settings.objectives.rpoMs,
      rpoMet: r.objectives?.rpoMet ?? false,
      keysVerified: r.keysVerified ?? 0,
      failures: r.failures,
      report: `${reports.url.split("?")[0] ?? ""}/${blob}`,
      sealed,
    }));

  const periodRows = entries.filter((e) => inPeriod(e.happenedAt));
  const destructiveActions = periodRows.filter((e) => isDestructive(e)).map((e) => ({
    at: e.happenedAt,
    operation: e.row.Operation,
    instance: e.row.Instance,
    target: e.row.TargetInstance || e.row.KeyName || e.row.FolderName || null,
    outcome: e.row.Outcome,
    requester: requesterOf(e),
    approvers: approversOf(e.record),
    record: e.blob,
  }));
  const failures = [
    ...periodRows.filter((e) => e.row.Outcome === "Failed").map((e) => ({ at: e.happenedAt, workflow: e.row.Workflow, operation: e.row.Operation, instance: e.row.Instance, runId: e.row.RunId, cause: e.row.Reason || "(no cause recorded)", record: e.blob })),
    ...drillSection.filter((d) => d.verdict === "failed" && !periodRows.some((e) => e.row.RunId === d.drillId)).map((d) => ({ at: d.finishedAt, workflow: "drill", operation: "RestoreDrill", instance: d.primary, runId: d.drillId, cause: d.failures.join(" "), record: d.report })),
  ];

  const exposureScan = scanForExposure([
    ...entries.map((e) => ({ where: `audit:${e.blob}`, text: e.text })),
    ...drills.map((d) => ({ where: `report:${d.blob}`, text: d.text })),
  ]);
  const localRows = entries.length === 0 ? 0 : await countLocalRows(audit);
  const logRetention = {
    lifecycleRows: {
      table: LIFECYCLE_TABLE,
      destination: ctx.settings.lifecycleLog === undefined ? { localStore: `${audit.url.split("?")[0] ?? ""}/${LOCAL_ROWS_PREFIX}`, rows: localRows } : { logsIngestionEndpoint: ctx.settings.lifecycleLog.endpoint, dataCollectionRule: ctx.settings.lifecycleLog.ruleId },
      interactiveRetentionDays: DEPLOYED_RETENTION.interactiveDays,
      totalRetentionDays: DEPLOYED_RETENTION.totalDays,
    },
    hsmAuditEvents: { destination: "Log Analytics (AzureDiagnostics, category AuditEvent) through each HSM's diagnostic setting", interactiveRetentionDays: DEPLOYED_RETENTION.interactiveDays },
    auditRecords: { container: audit.url.split("?")[0] ?? "", writeOnce: true, count: entries.length, oldest: entries[0]?.happenedAt ?? null, newest: entries.at(-1)?.happenedAt ?? null },
    drillReports: { container: reports.url.split("?")[0] ?? "", count: drills.length, oldest: drills.map((d) => d.report.startedAt).sort()[0] ?? null },
    meetsPciTwelveMonths: DEPLOYED_RETENTION.interactiveDays >= 365,
  };

  const pastCryptoperiod = keys.filter((k) => k["pastCryptoperiod"] === true).length;
  const verifiedBackupsOk = backups.length > 0 && backups.every((b) => b["rpoMet"] === true);
  const passedDrill = drillSection.some((d) => d.verdict === "passed" && d.rtoMet && d.rpoMet);
  const drift = access.some((a) => Array.isArray(a["drift"]) && (a["drift"] as unknown[]).length > 0);
  const unapproved = destructiveActions.filter((d) => d.approvers.length === 0 && d.requester === null).length;
  const status = (path: string): { status: "met" | "not met"; finding: string } => {
    if (path.startsWith("keys[].cryptoperiod") || path.startsWith("keys[].pastCryptoperiod")) return pastCryptoperiod === 0 ? { status: "met", finding: `${keys.length} key(s), none past its cryptoperiod` } : { status: "not met", finding: `${pastCryptoperiod} key(s) past their cryptoperiod` };
    if (path === "backups") return verifiedBackupsOk ? { status: "met", finding: "every primary HSM has a verified backup within the RPO" } : { status: "not met", finding: "a primary HSM has no verified backup within the RPO" };
    if (path === "drills") return passedDrill ? { status: "met", finding: "a drill in the period passed with RTO and RPO met" } : { status: "not met", finding: "no drill in the period passed with RTO and RPO met" };
    if (path === "access[].drift" || path === "access") return drift ? { status: "not met", finding: "role assignments differ from the plan" } : { status: "met", finding: "role assignments match the plan" };
    if (path === "exposureScan") return exposureScan.result === "clean" ? { status: "met", finding: "no key material or secret found" } : { status: "not met", finding: `${exposureScan.findings.length} finding(s)` };
    if (path.startsWith("destructiveActions")) return unapproved === 0 ? { status: "met", finding: `${destructiveActions.length} destructive action(s), each with a recorded requester or approver` } : { status: "not met", finding: `${unapproved} destructive action(s) with no requester or approver recorded` };
    if (path === "logRetention") return logRetention.meetsPciTwelveMonths ? { status: "met", finding: `${DEPLOYED_RETENTION.interactiveDays} days interactive` } : { status: "not met", finding: "under 12 months" };
    if (path === "failures") return { status: "met", finding: `${failures.length} failure(s) recorded with their causes` };
    return { status: keys.length > 0 ? "met" : "not met", finding: `${keys.length} key(s) listed` };
  };
  const controls = CONTROL_MAPPINGS.map((c) => {
    const results = c.evidence.map(status);
    const failed = results.find((r) => r.status === "not met");
    return { ...c, status: failed === undefined ? "met" : "not met", findings: results.map((r) => r.finding) };
  });

  return {
    schema: EVIDENCE_SCHEMA,
    schemaVersion: 1,
    // When the pack was made (the machine clock); the instant it is judged at is period.to (ctx.now).
    generatedAt: new Date().toISOString(),
    period: { from: period.from.toISOString(), to: period.to.toISOString() },
    generatedBy: { principalId: (await principalIdOf(ctx.credential("drill")).catch(() => undefined)) ?? null },
    keys,
    backups,
    drills: drillSection,
    access,
    destructiveActions,
    failures,
    exposureScan,
    logRetention,
    controls,
    unavailable,
  };
}

async function keySection(ctx: CliContext, entries: AuditEntry[], drills: DrillReport[], unavailable: string[]): Promise<Json[]> {
  let policy: Awaited<ReturnType<typeof loadRotationConfig>>["policy"] | undefined;
  try {
    policy = (await loadRotationConfig(ctx.settings, ctx.baseDir)).policy;
  } catch (e) {
    unavailable.push(`rotation policy: ${errorText(e)}`);
  }
  const out: Json[] = [];
  for (const instance of rotationInstances(ctx.settings)) {
    try {
      for await (const k of ctx.keyClients("rotation").keys(instance.url).listPropertiesOfKeys()) {
        const rotations = entries.filter(({ row: r }) => r.Instance === instance.name && r.KeyName === k.name && r.Workflow === "rotation");
        const rotated = rotations.filter(({ row: r }) => r.Operation === "KeyRotated").at(-1);
        const drill = drills.filter((d) => d.primary.name === instance.name && d.verdict === "passed" && d.kind === "full").sort((a, b) => a.finishedAt.localeCompare(b.finishedAt)).at(-1);
        const selection = policy === undefined ? undefined : selectRule(policy, instance.name, { name: k.name, ...(k.tags === undefined ? {} : { tags: k.tags }) });
        const rule = selection?.kind === "rule" ? selection.rule : undefined;
        const cryptoperiod = rule?.maxAge ?? rule?.newVersionExpiry ?? null;
        const createdOn = k.createdOn?.toISOString() ?? null;
        const endsOn = cryptoperiod !== null && createdOn !== null ? addDuration(new Date(createdOn), parseIsoDuration(cryptoperiod)).toISOString() : (k.expiresOn?.toISOString() ?? null);
        const verifications = [
          ...(rotated === undefined ? [] : [{ at: rotated.happenedAt, by: "rotation (new version signed on the HSM, verified with its public key)", runId: rotated.row.RunId }]),
          ...(drill === undefined ? [] : [{ at: drill.finishedAt, by: `restore drill ${drill.drillId} (restored into ${drill.target.name} and compared)`, runId: drill.drillId }]),
        ].sort((a, b) => a.at.localeCompare(b.at));
        out.push({
          instance: instance.name,
          kind: instance.kind,
          name: k.name,
          enabled: k.enabled ?? true,
          currentVersionCreatedOn: createdOn,
          expiresOn: k.expiresOn?.toISOString() ?? null,
          rule: selection === undefined ? null : selection.kind === "rule" ? selection.rule.name : selection.kind,
          cryptoperiod,
          cryptoperiodEndsOn: endsOn,
          pastCryptoperiod: endsOn !== null && Date.parse(endsOn) < ctx.now.getTime(),
          lastRotation: rotated === undefined ? null : { at: rotated.happenedAt, version: rotated.row.KeyVersion, runId: rotated.row.RunId, record: rotated.row.RecordId },
          lastVerification: verifications.at(-1) ?? null,
          rotationFailures: rotations.filter(({ row: r }) => r.Outcome === "Failed").length,
        });
      }
    } catch (e) {
      unavailable.push(`keys of ${instance.name}: ${errorText(e)}`);
    }
  }
  return out;
}

async function backupSection(ctx: CliContext, unavailable: string[]): Promise<Json[]> {
  const views = await backupView(ctx);
  const copyUrl = ctx.settings.storage.backupCopyContainerUrl;
  const copies = copyUrl === undefined ? undefined : ctx.container("backup", copyUrl.split("/").pop() ?? "");
  const backupContainer = ctx.container("backup", ctx.settings.storage.backupContainer);
  return Promise.all(
    views.map(async (v) => {
      if (v.error !== undefined) unavailable.push(`backups of ${v.hsm}: ${v.error}`);
      const retained = await Promise.all(
        v.backups.map(async (b) => ({
          folder: b.folder,
          completedAt: b.completedAt,
          verified: b.verified,
          verifiedAt: b.verifiedAt ?? null,
          pinned: b.pinned,
          location: `${backupContainer.url.split("?")[0] ?? ""}/${b.folder}`,
          copy: copies === undefined ? null : { location: `${copyUrl ?? ""}/${b.folder}`, present: await hasBlobs(copies, `${b.folder}/`) },
        })),
      );
      return {
        hsm: v.hsm,
        lastVerified: v.lastVerified === null ? null : { folder: v.lastVerified.folder, completedAt: v.lastVerified.completedAt, verifiedAt: v.lastVerified.verifiedAt ?? null },
        rpoNowMs: v.rpoNowMs,
        rpoTargetMs: v.rpoTargetMs,
        rpoMet: v.rpoMet,
        retained,
      };
    }),
  );
}

async function hasBlobs(container: ContainerClient, prefix: string): Promise<boolean> {
  try {
    for await (const _ of container.listBlobsFlat({ prefix })) return true;
  } catch {
    return false;
  }
  return false;
}

async function accessSection(ctx: CliContext, credential: "managed-identity" | "default", unavailable: string[]): Promise<Json[]> {
  try {
    const plan = rbacPlanOf(ctx);
    const connection = rbacConnection(ctx, rbacAdminCredential(ctx, credential));
    const diffs = await diffRbac(plan, connection);
    return Promise.all(
      plan.instances.map(async (i) => {
        const live = await readLiveRbac(rbacClientFor(connection, i.name));
        const diff = diffs.find((d) => d.instance === i.name);
        return {
          instance: i.name,
          kind: i.kind,
          role: i.role,
          assignments: live.assignments.map((a) => ({ principalId: a.principalId, role: live.definitions.get(a.roleDefinitionName)?.roleName ?? a.roleDefinitionName, scope: a.scope })).sort((a, b) => `${a.role}${a.principalId}${a.scope}`.localeCompare(`${b.role}${b.principalId}${b.scope}`)),
          drift: diff === undefined ? [] : describeDrift(diff),
        };
      }),
    );
  } catch (e) {
    unavailable.push(`access (role assignments): ${errorText(e)}`);
    return [];
  }
}

async function readDrillReports(container: ContainerClient): Promise<Array<{ blob: string; text: string; report: DrillReport; sealed: boolean }>> {
  const names = new Set<string>();
  try {
    for await (const b of container.listBlobsFlat()) names.add(b.name);
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return [];
    throw e;
  }
  const out: Array<{ blob: string; text: string; report: DrillReport; sealed: boolean }> = [];
  for (const name of [...names].filter((n) => n.endsWith("/report.json")).sort()) {
    const text = (await container.getBlobClient(name).downloadToBuffer()).toString("utf8");
    try {
      out.push({ blob: name, text, report: JSON.parse(text) as DrillReport, sealed: names.has(`${name}.sig`) });
    } catch {
      // A damaged report is still scanned for exposure below through its text; it answers no drill question.
    }
  }
  return out;
}

const DESTRUCTIVE = /(delete|purge|restore|retire|disable|revoke|roleassignment|destroy|wipe|approv)/i;

function isDestructive(e: AuditEntry): boolean {
  return DESTRUCTIVE.test(e.row.Operation) || DESTRUCTIVE.test(e.row.Workflow) || "approvers" in e.record || "approvals" in e.record;
}

function requesterOf(e: AuditEntry): string | null {
  const r = e.record;
  const v = r["requester"] ?? r["requestedBy"] ?? (r["request"] as Json | undefined)?.["requester"];
  if (typeof v === "string") return v;
  if (typeof v === "object" && v !== null) return String((v as Json)["objectId"] ?? (v as Json)["principalId"] ?? "") || null;
  return e.row.IdentityObjectId || null;
}

function approversOf(r: Json): string[] {
  const list = r["approvers"] ?? r["approvals"];
  if (!Array.isArray(list)) return [];
  return list.map((a: unknown) => (typeof a === "string" ? a : typeof a === "object" && a !== null ? String((a as Json)["objectId"] ?? (a as Json)["principalId"] ?? (a as Json)["approver"] ?? JSON.stringify(a)) : String(a)));
}

/** Key material as it would appear in text: private PEM blocks, private JWK members, long raw base64 blobs named key. */
const KEY_MATERIAL: Array<[string, RegExp]> = [
  ["PEM private key", /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/],
  ["JWK private member", /"(?:d|p|q|dp|dq|qi|k)"\s*:\s*"[A-Za-z0-9_-]{16,}"/],
  ["security-domain share", /"(?:shares|EncData|enc_shares)"\s*:/i],
];

/**
 * Looks for secrets with the same patterns the app redacts with (a text `redactSecrets` would change holds one)
 * and for key material. Reports where and what kind, never the value.
 */
function scanForExposure(items: Array<{ where: string; text: string }>): { scanned: number; patterns: string[]; findings: Array<{ where: string; kind: string }>; result: "clean" | "findings" } {
  const findings: Array<{ where: string; kind: string }> = [];
  for (const { where, text } of items) {
    if (redactSecrets(text) !== text) findings.push({ where, kind: "credential (SAS signature, token, account or topic key)" });
    for (const [kind, re] of KEY_MATERIAL) if (re.test(text)) findings.push({ where, kind });
  }
  return { scanned: items.length, patterns: ["shared/errors/redactSecrets (SAS, bearer/JWT, OAuth fields, account/shared-access keys, Event Grid keys, identity header)", ...KEY_MATERIAL.map(([k]) => k)], findings, result: findings.length === 0 ? "clean" : "findings" };
}

async function countLocalRows(audit: ContainerClient): Promise<number> {
  let n = 0;
  try {
    for await (const b of audit.listBlobsFlat({ prefix: LOCAL_ROWS_PREFIX })) n += (await audit.getBlobClient(b.name).downloadToBuffer()).toString("utf8").split("\n").filter((l) => l.trim() !== "").length;
  } catch {
    return 0;
  }
  return n;
}
