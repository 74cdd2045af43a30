import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { appRoot } from "../app/appRoot";
import { LifecycleError } from "../errors/lifecycleError";
import { parseRotationPolicy } from "./checkRotationPolicy";
import type { PolicyInstance, RotationPolicy } from "./policyTypes";

/** The absolute path of ROTATION_POLICY_FILE: relative paths start at the function app root. */
export function rotationPolicyPath(path: string, baseDir: string = appRoot()): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Reads ROTATION_POLICY_FILE and validates it (schema + service limits). Relative paths resolve from
 * `baseDir` (the function app root). Activities call this; orchestrations get the resolved policy as input.
 */
export async function readRotationPolicyFile(
  path: string,
  instances: readonly PolicyInstance[],
  baseDir?: string,
): Promise<RotationPolicy> {
  const full = rotationPolicyPath(path, baseDir);
  let text: string;
  try {
    text = await readFile(full, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code ?? "read error";
    throw new LifecycleError(
      "PolicyInvalid",
      `cannot read the rotation policy file ${full} (${code}). Fix: set ROTATION_POLICY_FILE to an existing JSON file (relative paths start at the app root).`,
      e,
    );
  }
  return parseRotationPolicy(text, instances, `rotation policy ${full}`);
}
