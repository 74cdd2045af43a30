import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localStackFilePath, readLocalStackFile } from "../../cli/localStackFile";
import { useLocalStack } from "../../cli/useLocalStack";
import { parseCliArgs } from "../../cli/cliArgs";

const dir = mkdtempSync(join(tmpdir(), "stack-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stackFile(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

/** The pid of a process that has exited (a stack killed with SIGKILL leaves "running" with such a pid). */
const deadPid = spawnSync(process.execPath, ["-e", ""]).pid;

describe("the local stack file the CLI reads", () => {
  it("is .local-stack/stack.json under the working directory unless HSM_LIFECYCLE_STACK_FILE names one", () => {
    expect(localStackFilePath({}, "/repo")).toBe("/repo/.local-stack/stack.json");
    expect(localStackFilePath({ HSM_LIFECYCLE_STACK_FILE: "/elsewhere/s.json" }, "/repo")).toBe("/elsewhere/s.json");
  });

  it("a running stack is found only while its process lives; a stopped or killed one is reported as stopped", () => {
    const base = { url: "http://127.0.0.1:40123", settingsFile: "/s/local.settings.json" };
    expect(readLocalStackFile(join(dir, "absent.json"))).toEqual({ found: "none" });
    const running = stackFile("running.json", { ...base, state: "running", pid: process.pid });
    expect(readLocalStackFile(running)).toEqual({ found: "running", file: running, stack: expect.objectContaining({ ...base, pid: process.pid }) });
    const stopped = stackFile("stopped.json", { ...base, state: "stopped", pid: process.pid });
    expect(readLocalStackFile(stopped)).toEqual({ found: "stopped", file: stopped });
    const killed = stackFile("killed.json", { ...base, state: "running", pid: deadPid });
    expect(readLocalStackFile(killed)).toEqual({ found: "stopped", file: killed });
  });

  it("a file that is not npm start's is an error naming it and the fix", () => {
    const notJson = stackFile("bad.json", "{");
    expect(() => readLocalStackFile(notJson)).toThrow(`The local stack file ${notJson} is not JSON. Fix:`);
    const foreign = stackFile("foreign.json", { state: "running", pid: process.pid, url: "http://user:pw@host:1/x", settingsFile: "/s" });
    expect(() => readLocalStackFile(foreign)).toThrow(`The local stack file ${foreign} is not one "npm start" wrote`);
  });

  it("useLocalStack fills --settings and the app URL, keeps an explicit --app-url, and steps aside for --settings or HSMS", () => {
    const file = stackFile("use.json", { state: "running", pid: process.pid, url: "http://127.0.0.1:40123", settingsFile: "/s/local.settings.json" });
    const env = { HSM_LIFECYCLE_STACK_FILE: file };
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    expect(useLocalStack(parseCliArgs(["status"]), io, env, dir)).toMatchObject({ settingsFile: "/s/local.settings.json", appUrl: "http://127.0.0.1:40123" });
    expect(lines).toEqual([`hsm-lifecycle: using the local stack of ${file}: settings /s/local.settings.json, app http://127.0.0.1:40123 (--settings FILE uses another).`]);
    expect(useLocalStack(parseCliArgs(["backup", "--app-url", "http://127.0.0.1:9"]), io, env, dir)).toMatchObject({ settingsFile: "/s/local.settings.json", appUrl: "http://127.0.0.1:9" });
    expect(useLocalStack(parseCliArgs(["status", "--settings", "mine.json"]), io, env, dir).settingsFile).toBe("mine.json");
    expect(useLocalStack(parseCliArgs(["status"]), io, { ...env, HSMS: "primary=https://x.managedhsm.azure.net" }, dir).settingsFile).toBeUndefined();
  });
});
