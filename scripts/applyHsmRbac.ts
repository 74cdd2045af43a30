/**
 * The azd postprovision hook: applies Managed HSM local RBAC (not an ARM resource, so Bicep cannot) with
 * `hsm-lifecycle rbac apply`, signed in as the person running azd (`--credential default`: az/azd login), from the
 * values the deployment just output (HSMS, DRILL_PAIRS, RBAC_PRINCIPAL_IDS with the new identities' object ids).
 *
 * VAULTS stay out of these settings on purpose: vault roles are Azure RBAC, and infra/ already created and assigned
 * them from the same lifecycleRoles.json. Extra arguments (e.g. --dry-run) go to `rbac apply`; `check` as the first
 * argument runs the read-only `rbac check` on the same settings instead.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The deployment outputs the hook needs, by their azd environment names. */
export const HOOK_INPUTS = ["HSMS", "DRILL_PAIRS", "RBAC_PRINCIPAL_IDS", "STORAGE_ACCOUNT_URL", "LIFECYCLE_TOPIC_ENDPOINT"] as const;

/** The CLI's settings file (`{"Values":{…}}`) from the azd environment; throws naming what is missing and the fix. */
export function hsmRbacSettings(env: NodeJS.ProcessEnv): { Values: Record<string, string> } {
  const missing = HOOK_INPUTS.filter((k) => k !== "DRILL_PAIRS" && (env[k] ?? "").trim() === "");
  if (missing.length > 0) {
    throw new Error(`the azd environment has no ${missing.join(", ")}. Fix: run "azd provision" (infra/main.bicep outputs them), or "azd env set" them, then run this hook again.`);
  }
  // The CLI validates every setting, and BACKUP_MANIFEST_KEY is required with any HSM; `rbac` never reads a
  // manifest, so a throwaway key satisfies the check and the real one never leaves its vault.
  const values: Record<string, string> = { VAULTS: "", BACKUP_MANIFEST_KEY: randomBytes(32).toString("base64") };
  for (const k of HOOK_INPUTS) values[k] = (env[k] ?? "").trim();
  return { Values: values };
}

/** The CLI arguments: `rbac apply [extra…]`, or `rbac check [extra…]` when the first argument is `check`. */
export function rbacCliArgs(argv: readonly string[], settingsFile: string): string[] {
  const [first, ...rest] = argv;
  const action = first === "check" ? ["check", ...rest] : ["apply", ...argv];
  return ["rbac", ...action, "--settings", settingsFile, "--credential", "default"];
}

if (require.main === module) {
  const root = resolve(__dirname, "../..");
  let dir: string | undefined;
  let code = 1;
  try {
    const settings = hsmRbacSettings(process.env);
    dir = mkdtempSync(join(tmpdir(), "hsm-rbac-"));
    const file = join(dir, "settings.json");
    writeFileSync(file, JSON.stringify(settings, null, 2), { mode: 0o600 });
    const run = spawnSync(process.execPath, [join(root, "bin", "hsm-lifecycle.js"), ...rbacCliArgs(process.argv.slice(2), file)], { stdio: "inherit" });
    code = run.status ?? 1;
  } catch (e) {
    process.stderr.write(`applyHsmRbac: ${e instanceof Error ? e.message : String(e)}\n`);
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  process.exit(code);
}
