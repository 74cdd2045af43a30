import { LifecycleError } from "../errors/lifecycleError";
import type { InstanceKind, InstanceSetting } from "../config/settings";

/** How orchestration and activity inputs name an HSM or vault: by its configured name, never by URL. */
export interface InstanceRef {
  name: string;
  kind: InstanceKind;
}

/** The JSON-safe reference an orchestration input carries for a configured instance. */
export function instanceRef(instance: Pick<InstanceSetting, "name" | "kind">): InstanceRef {
  return { name: instance.name, kind: instance.kind };
}

/**
 * Why an input's instance reference is unusable before any lookup (pure, so orchestrations can refuse at
 * once): it carries a URL, or it names nothing. Undefined when it is a plain name. Never echoes the value
 * (a URL may carry a SAS).
 */
export function instanceInputProblem(ref: unknown, where: string): string | undefined {
  const refObject = typeof ref === "object" && ref !== null ? (ref as Record<string, unknown>) : undefined;
  const carriesUrl = typeof ref === "string" ? looksLikeUrl(ref) : refObject !== undefined && ("url" in refObject || Object.values(refObject).some((v) => typeof v === "string" && looksLikeUrl(v)));
  if (carriesUrl) {
    return `${where}: the input carries a URL instead of an instance name; refused without calling it. Inputs name a configured instance and the URL always comes from the app settings (HSMS / VAULTS), so no input can send this workflow's token to another host. Fix: start it with the instance's configured name.`;
  }
  const name = typeof ref === "string" ? ref : refObject?.["name"];
  if (typeof name !== "string" || name === "") return `${where}: the input names no instance. Fix: start it with the instance's configured name.`;
  return undefined;
}

/**
 * Resolves an instance named in an activity input to the configured one (URL from HSMS / VAULTS). Inputs are
 * hostile: whoever can start an orchestration chooses them, and the activity sends its identity's token to the
 * URL it acts on. So an input that carries a URL is refused (never followed), and a name must be one of
 * `configured`. Errors are `BadParameter` (permanent: no retry can help) and name the configured instances.
 *
 * @param where - the activity, for the message
 */
export function resolveConfiguredInstance<T extends Pick<InstanceSetting, "name" | "kind">>(ref: unknown, configured: readonly T[], where: string): T {
  const choices = `Configured: ${configured.map((i) => `${i.name} (${i.kind})`).join(", ") || "none"}.`;
  const problem = instanceInputProblem(ref, where);
  if (problem !== undefined) throw new LifecycleError("BadParameter", `${problem} ${choices}`);
  const refObject = typeof ref === "object" && ref !== null ? (ref as Record<string, unknown>) : undefined;
  const name = String(typeof ref === "string" ? ref : refObject?.["name"]);
  const instance = configured.find((i) => i.name === name);
  if (instance === undefined) {
    throw new LifecycleError("BadParameter", `${where}: ${JSON.stringify(name.slice(0, 80))} is not a configured instance this workflow acts on. Fix: name one of them. ${choices}`);
  }
  const kind = refObject?.["kind"];
  if (kind !== undefined && kind !== instance.kind) {
    throw new LifecycleError("BadParameter", `${where}: the input says "${name}" is a ${JSON.stringify(kind)}, but it is configured as a ${instance.kind}. Fix: start it with the configured name only. ${choices}`);
  }
  return instance;
}

function looksLikeUrl(value: string): boolean {
  const v = value.trim();
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) || v.startsWith("//");
}
