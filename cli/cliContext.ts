/**
 * What every command needs: the app settings (the SAME `loadSettings` the function app uses, from a
 * local.settings.json-style file or the environment), the credential of each workflow, and clients built
 * lazily from them, so `report` never needs an HSM and `status` needs the function app only for the audit record
 * retries (durable's instances, which only the app reads; asked when `status` knows the app).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential } from "@azure/identity";
import { loadSettings } from "../shared/config/settings";
import { fleetContextFrom, type FleetContext } from "../shared/fleet/fleetContext";
import type { CliArgs } from "./cliArgs";
import { functionKeysFromEnv, type FunctionKeyFor } from "./functionAppClient";

export interface CliContext extends FleetContext {
  /** The key for each of the app's HTTP functions (see `functionKeysFromEnv`); secrets, never printed. */
  functionKeyFor: FunctionKeyFor;
}

/**
 * Reads `--settings FILE` (its `Values` go into `process.env`, as the Functions host does with app settings,
 * because ManagedIdentityCredential reads IDENTITY_ENDPOINT/IDENTITY_HEADER from there) and validates them.
 * Values in the file win over the environment: the operator named the file on purpose.
 */
export function createCliContext(args: Pick<CliArgs, "settingsFile" | "credential" | "at">): CliContext {
  let baseDir = process.cwd();
  if (args.settingsFile !== undefined) {
    const file = resolve(args.settingsFile);
    applySettingsFile(file);
    baseDir = dirname(file);
  }
  const settings = loadSettings(process.env);
  let defaultCredential: TokenCredential | undefined;
  const fleet = fleetContextFrom(settings, {
    baseDir,
    now: args.at ?? new Date(),
    ...(args.credential === "default" ? { credential: () => (defaultCredential ??= new DefaultAzureCredential()) } : {}),
  });
  return { ...fleet, functionKeyFor: functionKeysFromEnv(process.env) };
}

function applySettingsFile(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`[SettingsInvalid] Cannot read the settings file ${file} (${(e as { code?: string }).code ?? "read error"}). Fix: pass --settings with the path of a local.settings.json-style file.`);
  }
  let values: unknown;
  try {
    values = (JSON.parse(text) as { Values?: unknown }).Values;
  } catch {
    throw new Error(`[SettingsInvalid] The settings file ${file} is not JSON. Fix: it must look like local.settings.json: {"IsEncrypted": false, "Values": {"HSMS": "…", …}}.`);
  }
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new Error(`[SettingsInvalid] The settings file ${file} has no "Values" object. Fix: it must look like local.settings.json: {"Values": {"HSMS": "…", …}}.`);
  }
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === "string") process.env[k] = v;
    else if (typeof v === "number" || typeof v === "boolean") process.env[k] = String(v);
  }
}
