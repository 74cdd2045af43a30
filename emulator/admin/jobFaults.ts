/**
 * Admin-job fault injection (`/_emulator/admin-faults`, loopback only): the next N full BACKUP jobs of an
 * HSM end Failed with the given code and message, after being accepted (202) like a real job that fails
 * while it runs. Data-plane faults (/_emulator/faults) cannot do this: the job itself must fail, so a
 * client sees `status: "Failed"` on its status poll and must start a new job.
 *
 *   PUT /_emulator/admin-faults {"failBackupJobs": 2, "code": "InternalError", "message": "…"}
 *   GET /_emulator/admin-faults      → the remaining config
 *   DELETE /_emulator/admin-faults   → off
 */
import type { Instance } from "../instance";

export interface JobFaultConfig {
  /** How many more backup jobs fail. */
  failBackupJobs: number;
  code: string;
  message: string;
}

const DEFAULT_CODE = "InternalError";
const DEFAULT_MESSAGE = "The backup job failed inside the HSM (injected by /_emulator/admin-faults).";

const configs = new WeakMap<Instance, JobFaultConfig>();

export function jobFaultsOf(instance: Instance): JobFaultConfig {
  return configs.get(instance) ?? { failBackupJobs: 0, code: DEFAULT_CODE, message: DEFAULT_MESSAGE };
}

/** Validates and stores a config; throws with what is wrong (the caller answers 400, nothing changes). */
export function setJobFaults(instance: Instance, body: Record<string, unknown>): JobFaultConfig {
  const n = body["failBackupJobs"];
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 1000) throw new Error("failBackupJobs must be an integer between 0 and 1000.");
  const code = body["code"] ?? DEFAULT_CODE;
  const message = body["message"] ?? DEFAULT_MESSAGE;
  if (typeof code !== "string" || !/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(code)) throw new Error("code must be an error code like InternalError (letters and digits).");
  if (typeof message !== "string" || message === "" || message.length > 1000) throw new Error("message must be a non-empty string of at most 1000 characters.");
  const config = { failBackupJobs: n, code, message };
  configs.set(instance, config);
  return config;
}

export function clearJobFaults(instance: Instance): void {
  configs.delete(instance);
}

/** Consumes one injected failure for a backup job starting now, if any. */
export function takeBackupJobFault(instance: Instance): { code: string; message: string } | undefined {
  const c = configs.get(instance);
  if (c === undefined || c.failBackupJobs <= 0) return undefined;
  c.failBackupJobs--;
  return { code: c.code, message: c.message };
}
