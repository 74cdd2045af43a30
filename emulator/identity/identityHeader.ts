/**
 * The shared secret an App Service-style identity endpoint demands in `X-IDENTITY-HEADER`. In Azure the
 * platform injects it as the `IDENTITY_HEADER` environment variable; locally it lives in
 * `DIR/identity-header` (mode 0600) so the local stack can hand it to the function app without it ever
 * being printed. Created once and kept, so app settings written earlier stay valid after a restart.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function identityHeaderPath(stateDir: string): string {
  return join(stateDir, "identity-header");
}

/** Reads DIR/identity-header, creating it (32 random bytes, hex) on first use. */
export function ensureIdentityHeader(stateDir: string): { file: string; header: string } {
  mkdirSync(stateDir, { recursive: true });
  const file = identityHeaderPath(stateDir);
  if (!existsSync(file)) {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    renameSync(tmp, file);
  }
  const header = readFileSync(file, "utf8").trim();
  if (header === "") throw new Error(`Identity header file ${file} is empty; delete it and restart the emulator to create a new one.`);
  return { file, header };
}
