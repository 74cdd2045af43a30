/**
 * The ports a persistent local stack used last time (STATE/stack-ports.json). Everything the stack persists
 * names its endpoints by port — key ids (`https://127.0.0.1:PORT/keys/…`), durable instance ids and histories,
 * backup folder URLs in manifests, app settings — so a restart on the same state dir asks for the same ports
 * again. First start (or a port taken meanwhile): ephemeral ports, recorded for the next start.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface StackPorts {
  azurite: { blob: number; queue: number; table: number };
  emulator: Record<string, number>;
}

export const NO_PORTS: StackPorts = { azurite: { blob: 0, queue: 0, table: 0 }, emulator: {} };

export function stackPortsFile(stateDir: string): string {
  return join(stateDir, "stack-ports.json");
}

/** The recorded ports, or all-ephemeral when there is no (valid) record. */
export function readStackPorts(stateDir: string): StackPorts {
  const file = stackPortsFile(stateDir);
  if (!existsSync(file)) return NO_PORTS;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as StackPorts;
    const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 65535;
    if (!ok(parsed.azurite?.blob) || !ok(parsed.azurite.queue) || !ok(parsed.azurite.table)) return NO_PORTS;
    if (typeof parsed.emulator !== "object" || parsed.emulator === null || !Object.values(parsed.emulator).every(ok)) return NO_PORTS;
    return parsed;
  } catch {
    return NO_PORTS;
  }
}

export function writeStackPorts(stateDir: string, ports: StackPorts): void {
  const file = stackPortsFile(stateDir);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(ports, null, 2) + "\n");
  renameSync(tmp, file);
}

export const portOf = (url: string): number => Number(new URL(url).port);

/** True when a child failed to start because a port was taken. */
export function isPortInUse(e: unknown): boolean {
  return /EADDRINUSE|already in use/i.test((e as Error)?.message ?? "");
}
