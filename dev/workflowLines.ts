/**
 * What `npm start` shows for each workflow of the day: one line per workflow built from the runs' real durable
 * status and outputs (never from what this process started), so a stack that already ran today shows the
 * day's results and a run still going shows as running.
 */
import type { BackupRunResult } from "../shared/backup/orchestrations/backupHsm";
import type { RestoreDrillInput, RestoreDrillOutput } from "../shared/drill/types";
import type { RotateKeyInput, RotateKeyOutput, RotationSweepOutput } from "../shared/rotation/types";

/** One durable instance as the view needs it (output parsed; for Failed/Terminated the error text). */
export interface RunRecord {
  instanceId: string;
  executionId?: string;
  name: string;
  status: string;
  createdTime: string;
  input: unknown;
  output: unknown;
  /** What a running backup or drill says it is doing (`{ stage, … }`). */
  customStatus?: unknown;
}

export type LineState = "waiting" | "running" | "done" | "failed";

export interface WorkflowLine {
  workflow: "rotation" | "backup" | "drill";
  state: LineState;
  text: string;
  /** What did not fail the run but needs a person (drill warnings). */
  warnings: string[];
}

const TERMINAL: ReadonlySet<string> = new Set(["Completed", "Failed", "Terminated"]);

export function isTerminal(run: RunRecord): boolean {
  return TERMINAL.has(run.status);
}

/** `41 s`, `4 h`, `1 d 2 h`: whole seconds and no zero units are what a person reads; reports keep the milliseconds. */
export function shortDuration(ms: number): string {
  let rest = Math.round(Math.abs(ms) / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3_600], ["min", 60], ["s", 1]] as const) {
    if (rest < size) continue;
    parts.push(`${Math.floor(rest / size)} ${unit}`);
    rest %= size;
  }
  return (ms < 0 ? "-" : "") + (parts.length > 0 ? parts.join(" ") : "0 s");
}

const seconds = shortDuration;

const earlierNote = (earlier: boolean): string => (earlier ? " (ran earlier today)" : "");

/** ` (stage: restore)` while a run says which stage it is in. */
const stageOf = (run: RunRecord): string => {
  const stage = (run.customStatus as { stage?: unknown } | null | undefined)?.stage;
  return typeof stage === "string" ? ` (stage: ${stage})` : "";
};

const failedText = (run: RunRecord): string => {
  const text = typeof run.output === "string" ? run.output : JSON.stringify(run.output);
  return `${run.status.toLowerCase()}: ${(text ?? "").slice(0, 300)}`;
};

/**
 * Today's rotation sweep and the rotations it ran (`rotateKey` instances whose runId is the sweep): a rotation
 * counts as verified only when its new version passed the crypto checks (a failed check makes it "failed").
 */
export function rotationLine(sweep: RunRecord | undefined, rotations: readonly RunRecord[], earlier = false): WorkflowLine {
  const line = (state: LineState, text: string): WorkflowLine => ({ workflow: "rotation", state, text: `rotation: ${text}`, warnings: [] });
  if (sweep === undefined) return line("waiting", "sweep not started yet");
  const mine = rotations.filter((r) => (r.input as Partial<RotateKeyInput> | null)?.runId === sweep.instanceId);
  const outputs = mine.map((r) => r.output as Partial<RotateKeyOutput> | null);
  const rotated = outputs.filter((o) => o?.kind === "rotated" || o?.kind === "alreadyRotated");
  const verified = rotated.filter((o) => Array.isArray((o as { checks?: unknown }).checks) && (o as { checks: unknown[] }).checks.length > 0).length;
  const failed = mine.filter((r) => r.status === "Failed" || r.status === "Terminated" || (r.output as Partial<RotateKeyOutput> | null)?.kind === "failed");
  const inProgress = mine.filter((r) => !isTerminal(r)).length;
  const counts = `${rotated.length} key${rotated.length === 1 ? "" : "s"} rotated, ${verified} verified`;
  if (sweep.status === "Failed" || sweep.status === "Terminated") return line("failed", `sweep ${sweep.instanceId} ${failedText(sweep)}`);
  if (!isTerminal(sweep)) return line("running", `sweep running — ${counts}${inProgress > 0 ? `, ${inProgress} in progress` : ""}`);
  const out = (sweep.output ?? {}) as Partial<RotationSweepOutput>;
  const sweepFailures = Array.isArray(out.failures) ? out.failures : [];
  if (failed.length > 0 || sweepFailures.length > 0) {
    const first = sweepFailures[0];
    const cause = first !== undefined ? ` (${first.instanceId}: [${first.code}] ${first.message.slice(0, 200)})` : "";
    return line("failed", `${counts}, ${Math.max(failed.length, sweepFailures.length)} FAILED${cause}${earlierNote(earlier)}`);
  }
  if (rotated.length === 0) {
    const listed = (out.instances ?? []).reduce((n, i) => n + (typeof i.listed === "number" ? i.listed : 0), 0);
    return line("done", `no key due (${listed} keys checked)${earlierNote(earlier)}`);
  }
  return line(verified === rotated.length ? "done" : "failed", `${counts}${earlierNote(earlier)}`);
}

/** Today's backup of one HSM: the folder, verified, and how many blobs the verification re-hashed. */
export function backupLine(run: RunRecord | undefined, earlier = false): WorkflowLine {
  const line = (state: LineState, text: string): WorkflowLine => ({ workflow: "backup", state, text: `backup: ${text}`, warnings: [] });
  if (run === undefined) return line("waiting", "not started yet");
  if (run.status === "Failed" || run.status === "Terminated") return line("failed", `${run.instanceId} ${failedText(run)}`);
  if (!isTerminal(run)) return line("running", `${run.instanceId} running${stageOf(run)}`);
  const out = (run.output ?? {}) as Partial<BackupRunResult>;
  if (out.kind !== "completed" || typeof out.verifiedAt !== "string") return line("failed", `${run.instanceId} ended without a verified backup: ${JSON.stringify(run.output).slice(0, 300)}`);
  const blobs = typeof out.blobCount === "number" ? `, ${out.blobCount} blobs` : "";
  return line("done", `${out.folder ?? run.instanceId} verified${blobs}${earlierNote(earlier)}`);
}

/** Today's drill: the verdict, RTO and RPO against their targets, and its warnings. */
export function drillLine(run: RunRecord | undefined, earlier = false): WorkflowLine {
  const line = (state: LineState, text: string, warnings: string[] = []): WorkflowLine => ({ workflow: "drill", state, text: `drill: ${text}`, warnings });
  if (run === undefined) return line("waiting", "not started yet");
  if (run.status === "Failed" || run.status === "Terminated") return line("failed", `${run.instanceId} ${failedText(run)}`);
  if (!isTerminal(run)) return line("running", `${run.instanceId} running${stageOf(run)}`);
  const out = (run.output ?? {}) as Partial<RestoreDrillOutput>;
  const objectives = (run.input as Partial<RestoreDrillInput> | null)?.objectives;
  const measured: string[] = [];
  if (typeof out.rtoMs === "number") measured.push(`RTO ${seconds(out.rtoMs)}${objectives ? ` / target ${seconds(objectives.rtoMs)}` : ""}`);
  if (typeof out.rpoMs === "number") measured.push(`RPO ${seconds(out.rpoMs)}${objectives ? ` / target ${seconds(objectives.rpoMs)}` : ""}`);
  const warnings = Array.isArray(out.warnings) ? out.warnings : [];
  if (out.verdict === "passed") return line("done", ["passed", ...measured].join(", ") + earlierNote(earlier), warnings);
  const failures = Array.isArray(out.failures) && out.failures.length > 0 ? ` — ${out.failures.join("; ").slice(0, 300)}` : "";
  const at = out.stoppedAt !== undefined ? ` at ${out.stoppedAt}` : "";
  return line("failed", `FAILED${at}${measured.length > 0 ? `, ${measured.join(", ")}` : ""}${failures}${earlierNote(earlier)}`, warnings);
}
