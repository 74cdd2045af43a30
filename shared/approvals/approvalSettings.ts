/**
 * The settings of dual control: who may request (`OPERATORS`), who may approve (`APPROVERS`), how many approvals
 * each operation needs (`APPROVAL_POLICY`), how long a request waits (`APPROVAL_WINDOW`), the grace before a
 * compromised version is disabled (`COMPROMISE_GRACE`), and how callers are authenticated (`AUTH_*`). Read from the
 * environment with the catalogue's defaults; every bad key is named in one `[SettingsInvalid]` error.
 */
import { settingsCatalog } from "../config/settingsCatalog";
import { LifecycleError } from "../errors/lifecycleError";
import { minimumMs, parseIsoDuration } from "../rotation/isoDuration";
import { parsePrincipalList, type PrincipalList } from "./principalList";

export const OPERATIONS = ["emergencyRotation", "keyRecovery", "earlyDisable"] as const;
export type OperationName = (typeof OPERATIONS)[number];

export interface ApprovalSettings {
  operators: PrincipalList;
  approvers: PrincipalList;
  /** Approvals needed per operation (0 = none). */
  policy: Record<OperationName, number>;
  /** ISO 8601 duration a request waits for its approvals. */
  window: string;
  windowMs: number;
  compromiseGrace: string;
  compromiseGraceMs: number;
  auth: {
    /** Audience bearer tokens must carry (the app registration's Application ID URI or client id). */
    audience: string;
    /** Entra tenant whose tokens are accepted. */
    tenantId: string;
    /** Emulator mode only: the emulator's token secret (HS256); never used in Azure. */
    emulatorSecretFile: string;
  };
}

const DEFAULT_POLICY: Record<OperationName, number> = { emergencyRotation: 1, keyRecovery: 2, earlyDisable: 2 };

function value(env: NodeJS.ProcessEnv, key: string): string {
  const raw = env[key]?.trim();
  if (raw !== undefined && raw !== "") return raw;
  return settingsCatalog.find((s) => s.key === key)?.default ?? "";
}

export function loadApprovalSettings(env: NodeJS.ProcessEnv = process.env): ApprovalSettings {
  const problems: string[] = [];
  const list = (key: string): PrincipalList => {
    try {
      return parsePrincipalList(key, value(env, key));
    } catch (e) {
      problems.push((e as Error).message);
      return { objectIds: [], groups: [] };
    }
  };
  const operators = list("OPERATORS");
  const approvers = list("APPROVERS");
  const policy = { ...DEFAULT_POLICY };
  for (const pair of value(env, "APPROVAL_POLICY").split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const m = /^([A-Za-z]+)=(\d{1,2})$/.exec(pair);
    if (m === null || !(OPERATIONS as readonly string[]).includes(m[1] ?? "") || Number(m[2]) > 10) {
      problems.push(`APPROVAL_POLICY: "${pair}" must be operation=N with operation one of ${OPERATIONS.join(", ")} and N 0..10.`);
      continue;
    }
    policy[m[1] as OperationName] = Number(m[2]);
  }
  const duration = (key: string, minMs: number, maxMs: number): { text: string; ms: number } => {
    const text = value(env, key);
    try {
      const ms = minimumMs(parseIsoDuration(text));
      if (ms < minMs || ms > maxMs) throw new Error("out of range");
      return { text, ms };
    } catch {
      problems.push(`${key}: "${text}" must be an ISO 8601 duration between ${minMs / 1000} s and ${maxMs / 86_400_000} days.`);
      return { text, ms: minMs };
    }
  };
  const window = duration("APPROVAL_WINDOW", 1000, 90 * 86_400_000);
  const grace = duration("COMPROMISE_GRACE", 0, 30 * 86_400_000);
  if (problems.length > 0) throw new LifecycleError("SettingsInvalid", `${problems.join(" ")} Fix: correct the app settings (see README, Configuration).`);
  return {
    operators,
    approvers,
    policy,
    window: window.text,
    windowMs: window.ms,
    compromiseGrace: grace.text,
    compromiseGraceMs: grace.ms,
    auth: { audience: value(env, "AUTH_AUDIENCE"), tenantId: value(env, "AUTH_TENANT_ID"), emulatorSecretFile: value(env, "AUTH_TOKEN_SECRET_FILE") },
  };
}
