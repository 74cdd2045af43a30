/**
 * The CLI against a local stack: its settings file (so every setting comes from --settings) and, when it runs, the
 * stack's runner as --app-url.
 */
import type { LocalStack } from "../../dev/localStack";
import { runCliProcess, type CliRun } from "./runCliProcess";

export function runCliOn(stack: LocalStack, args: string[]): Promise<CliRun> {
  return runCliProcess([...args, "--settings", stack.settingsFile, ...(stack.runner === undefined ? [] : ["--app-url", stack.runner.url])]);
}

export function cliJson<T = any>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}
