/**
 * Starts the emulator as its own process (`node dist/emulator/main.js`, the way it is deployed) for benches, so
 * that client and server do not share one event loop, and reads its CPU time from /proc (Linux).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import { EmulatorCredential } from "../emulator/index";
import { readTokenSecret } from "../emulator/auth/tokens";

export interface EmulatorTarget {
  url: string;
  caPem: string;
  credential: TokenCredential;
  /** CPU seconds the emulator has used so far (its own process), when it runs as a child on Linux. */
  cpuSeconds?(): number | undefined;
  close(): Promise<void>;
}

/** utime + stime of a process from /proc (Linux); undefined elsewhere. */
export function procCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of proc(5) (utime, stime) are at 11 and 12 after the command name; clock ticks are 100/s on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** One HSM "primary" with `principal` as admin; `profileDir` writes a V8 CPU profile of the emulator there. */
export async function startEmulatorChild(stateDir: string, principal: string, options: { profileDir?: string; extraArgs?: string[] } = {}): Promise<EmulatorTarget> {
  const main = resolve(__dirname, "../emulator/main.js");
  const nodeArgs = options.profileDir ? ["--cpu-prof", "--cpu-prof-dir", options.profileDir] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, main, "--state-dir", stateDir, "--hsm", "primary=0", "--admin", principal, ...(options.extraArgs ?? [])], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => void stderr.push(chunk.toString()));
  const ready = await new Promise<{ caFile: string; tokenSecretFile: string; url: string }>((ok, fail) => {
    let buffered = "";
    const timer = setTimeout(() => fail(new Error(`Emulator did not print its ready line within 60 s. stderr:\n${stderr.join("")}`)), 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`Emulator exited with code ${String(code)} before it was ready. stderr:\n${stderr.join("")}`));
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      const line = JSON.parse(buffered.slice(0, newline)) as {
        event: string;
        caFile: string;
        tokenSecretFile: string;
        instances: Record<string, { url: string }>;
      };
      const url = line.instances["primary"]?.url;
      if (line.event !== "ready" || !url) fail(new Error(`Unexpected first line from the emulator: ${buffered.slice(0, newline)}`));
      else ok({ caFile: line.caFile, tokenSecretFile: line.tokenSecretFile, url });
    });
  });
  const credential = new EmulatorCredential(readTokenSecret(ready.tokenSecretFile), principal);
  return {
    url: ready.url,
    caPem: readFileSync(ready.caFile, "utf8"),
    credential,
    cpuSeconds: () => procCpuSeconds(child.pid),
    close: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}
