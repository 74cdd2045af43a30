/**
 * The operator CLI (`bin/hsm-lifecycle.js`, needs `npm run build`) as a child process, asynchronously (a runner in
 * the test's own process must keep serving), with exactly the environment given: settings come from --settings.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";

export const CLI_BIN = resolve(__dirname, "../../bin/hsm-lifecycle.js");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCliProcess(args: string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { env: { PATH: process.env["PATH"] ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"], ...options });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}
