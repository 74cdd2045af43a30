/**
 * A drill whose identity lacks a role on DR (here its DR-only role, HSM Lifecycle Drill DR, needed for DR's own
 * backup before the restore) is a problem no retry can cure. The drill must stop at that stage AT ONCE: one call, no durable
 * retry, nothing written to DR, and a report and DrillFailed event that name the missing role and the fix.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalStack } from "../../dev/localStack";
import { plannedAssignments } from "../../dev/stackIdentities";
import { assignmentName } from "../../shared/rbac/assignmentName";
import { eventTypeName } from "../../runner/historyEvents";
import { KeyVaultAccessControlClient } from "../../shared/hsm/keyVaultAccessControlClient";
import { activityNames } from "../../shared/names";
import { auditOf, drillOutcome, eventArrived, postDrill, readReport, startDrillTestStack, verifiedBackupOfPrimary, writesIn, type DrillTestStack, type EventSink } from "./drillStackSupport";

let world: DrillTestStack;
let stack: LocalStack;
let sink: EventSink;

beforeAll(async () => {
  world = await startDrillTestStack("drill-missing-role-");
  ({ stack, sink } = world);
}, 180_000);

afterAll(async () => {
  await world?.close();
});

describe("a drill identity without its DR role on DR", () => {
  it("stops at DR's own backup at once, names the missing role, and writes nothing to DR", async () => {
    await verifiedBackupOfPrimary(stack);
    const seeded = plannedAssignments({ primary: "primary", dr: "dr", vault: "app" }).find((a) => a.instance === "dr" && a.identity === "drill" && a.drOnly === true);
    if (seeded === undefined) throw new Error("the stack seeds no DR-only assignment for the drill on dr");
    await new KeyVaultAccessControlClient(stack.urls.dr, stack.adminCredential, stack.clientOptions()).deleteRoleAssignment(seeded.scope, assignmentName("dr", seeded.scope, seeded.role.name, seeded.principalId));
    const since = new Date().toISOString();

    const started = await postDrill(stack, { pair: "primary=dr" });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const id = started.body.id as string;
    const { runtimeStatus, output } = await drillOutcome(stack, id, started.body.statusPath as string);
    expect(runtimeStatus).toBe("Completed");
    expect(output).toMatchObject({ verdict: "failed", stoppedAt: "targetBackup" });
    expect(output.failures).toEqual([expect.stringMatching(/^\[MissingRole\] .*lacks the "HSM Lifecycle Drill DR" role\. Fix: assign "HSM Lifecycle Drill DR" to the function app.s identity on scope \/\./)]);

    // Tried once and reported at once: no TaskFailed, no retry timer, no second call.
    const history = stack.runner!.host.get(id)!.history;
    expect(history.filter((e) => eventTypeName(e.EventType) === "TaskScheduled" && e.Name === activityNames.startDrillTargetBackup)).toHaveLength(1);
    expect(history.filter((e) => ["TaskFailed", "TimerCreated"].includes(eventTypeName(e.EventType)))).toEqual([]);

    // DR saw one write call from the drill, its own backup, and refused it with 403; nothing was changed.
    const audit = (await auditOf(stack, "dr", since)).filter((r) => r.operationName !== "RoleAssignmentDelete");
    expect(writesIn(audit)).toEqual(["BackupCreate"]);
    expect(audit.find((r) => r.operationName === "BackupCreate")).toMatchObject({ resultType: "Failure", properties: { httpStatusCode: 403 } });
    const report = await readReport(stack, output.reportJson);
    expect(report).toMatchObject({ verdict: "failed", failures: output.failures });
    expect(report.restore).toBeUndefined();
    const event = await eventArrived(sink, (e) => e.data?.runId === id);
    expect(event).toMatchObject({ eventType: "HsmLifecycle.DrillFailed", data: { drHsm: "dr", errorCode: "MissingRole" } });
  }, 120_000);
});
