/**
 * Runs the real CLI (`bin/hsm-lifecycle.js`) as a child process against a local stack, configured only by the
 * stack's settings file. Asynchronous: the runner lives in the test's process, a synchronous spawn would block it.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import type { LocalStack } from "../../dev/localStack";

export const CLI_BIN = resolve(__dirname, "../../bin/hsm-lifecycle.js");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A bare environment (PATH only), so every setting has to come from --settings. */
export function runCliOn(stack: LocalStack, args: string[], options: { withApp?: boolean; onOutput?: (stdout: string, stderr: string) => void } = {}): Promise<CliRun> {
  const full = [CLI_BIN, ...args, "--settings", stack.settingsFile, ...(options.withApp === false || stack.runner === undefined ? [] : ["--app-url", stack.runner.url])];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, full, { env: { PATH: process.env["PATH"] ?? "" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => {
      options.onOutput?.(stdout, stderr);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export function cliJson<T = any>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}
