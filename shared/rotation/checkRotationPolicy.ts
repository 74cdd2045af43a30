import { Ajv, type ErrorObject } from "ajv";
import { LifecycleError } from "../errors/lifecycleError";
import { type IsoDuration, formatIsoDuration, maximumMs, minimumMs, parseIsoDuration } from "./isoDuration";
import type {
  LifecycleSettings,
  PolicyInstance,
  PolicyRule,
  ResolvedExclusion,
  ResolvedRule,
  RotationPolicy,
  RotationPolicyDocument,
} from "./policyTypes";
import schema from "./rotationPolicy.schema.json";
import { serviceLimits } from "./serviceLimits";

/** One problem with the policy: where it is, and (for service limits) which limit. */
export interface PolicyViolation {
  /** `rules[2] "payments"`, `exclusions[0]`, `defaults` or `policy`. */
  where: string;
  /** The service limit broken, e.g. "Managed HSM: at least 28 days between rotations". */
  limit?: string;
  message: string;
}

export interface PolicyCheck {
  /** Set only when there are no violations. */
  policy?: RotationPolicy;
  violations: PolicyViolation[];
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validateDocument = ajv.compile<RotationPolicyDocument>(schema);

/** Default grace period: Azure Storage looks for a new key version once a day (landscape §0.6), so keep old ones a day longer. */
export const DEFAULT_GRACE_PERIOD = "P2D";

/**
 * Validates a policy document (JSON text or parsed value) against the JSON Schema and against the service
 * limits of every instance each rule covers. Returns every violation (the dry run lists them all).
 */
export function checkRotationPolicy(input: unknown, instances: readonly PolicyInstance[]): PolicyCheck {
  let doc: unknown = input;
  if (typeof input === "string") {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      return { violations: [{ where: "policy", message: `is not valid JSON (${e instanceof Error ? e.message : String(e)}).` }] };
    }
  }
  if (!validateDocument(doc)) {
    // "propertyNames" repeats the enum error for the same unknown field; keep the one that lists allowed names.
    const errors = (validateDocument.errors ?? []).filter((e) => e.keyword !== "propertyNames");
    return { violations: errors.map((e) => schemaViolation(e, doc)) };
  }
  const violations: PolicyViolation[] = [];
  const byName = new Map(instances.map((i) => [i.name, i] as const));
  const allNames = instances.map((i) => i.name);
  const defaults = doc.defaults ?? {};

  const seen = new Set<string>();
  const rules: ResolvedRule[] = [];
  doc.rules.forEach((rule, index) => {
    const where = `rules[${index}] "${rule.name}"`;
    if (seen.has(rule.name)) violations.push({ where, message: "repeats a rule name; names must be unique." });
    seen.add(rule.name);
    const covered = resolveInstances(rule.instances, byName, allNames, where, violations);
    const resolved = resolveRule(rule, defaults, covered);
    checkLimits(resolved, covered.map((n) => byName.get(n)).filter((i): i is PolicyInstance => i !== undefined), where, violations);
    rules.push(resolved);
  });

  const exclusions: ResolvedExclusion[] = (doc.exclusions ?? []).map((ex, index) => ({
    index,
    instances: resolveInstances(ex.instances, byName, allNames, `exclusions[${index}]`, violations),
    keyName: ex.keyName ?? "*",
    tags: ex.tags ?? {},
    reason: ex.reason,
  }));

  return violations.length > 0 ? { violations } : { policy: { rules, exclusions }, violations };
}

/** Like `checkRotationPolicy`, but throws one `LifecycleError("PolicyInvalid")` listing every violation. */
export function parseRotationPolicy(input: unknown, instances: readonly PolicyInstance[], source = "rotation policy"): RotationPolicy {
  const { policy, violations } = checkRotationPolicy(input, instances);
  if (policy === undefined) {
    throw new LifecycleError(
      "PolicyInvalid",
      `${source} has ${violations.length} problem${violations.length === 1 ? "" : "s"}: ${violations.map(formatViolation).join(" | ")} Fix: edit the policy file; nothing was rotated.`,
    );
  }
  return policy;
}

export function formatViolation(v: PolicyViolation): string {
  return `${v.where}: ${v.message}${v.limit === undefined ? "" : ` (limit: ${v.limit})`}`;
}

function resolveInstances(
  names: string[] | undefined,
  byName: ReadonlyMap<string, PolicyInstance>,
  allNames: string[],
  where: string,
  violations: PolicyViolation[],
): string[] {
  if (names === undefined) return allNames;
  for (const n of names) {
    if (!byName.has(n)) {
      violations.push({ where, message: `selects instance "${n}", which is not configured for rotation (HSMS primaries and VAULTS: ${allNames.join(", ") || "none"}).` });
    }
  }
  return names.filter((n) => byName.has(n));
}

function resolveRule(rule: PolicyRule, defaults: LifecycleSettings, instances: string[]): ResolvedRule {
  const pick = <K extends keyof LifecycleSettings>(k: K): LifecycleSettings[K] => (rule[k] !== undefined ? rule[k] : defaults[k]);
  const canon = (t: string | undefined): string | undefined => (t === undefined ? undefined : formatIsoDuration(parseIsoDuration(t)));
  const stages = (pick("notifyBefore") ?? [])
    .map((s) => parseIsoDuration(s))
    .sort((a, b) => maximumMs(b) - maximumMs(a))
    .map(formatIsoDuration);
  const out: ResolvedRule = {
    name: rule.name,
    instances,
    keyName: rule.keyName ?? "*",
    tags: rule.tags ?? {},
    gracePeriod: canon(pick("gracePeriod")) ?? DEFAULT_GRACE_PERIOD,
    notifyBefore: [...new Set(stages)],
    autoRotate: pick("autoRotate") ?? true,
  };
  const rbe = canon(pick("rotateBeforeExpiry"));
  const age = canon(pick("maxAge"));
  const exp = canon(pick("newVersionExpiry"));
  if (rbe !== undefined) out.rotateBeforeExpiry = rbe;
  if (age !== undefined) out.maxAge = age;
  if (exp !== undefined) out.newVersionExpiry = exp;
  return out;
}

const days = (ms: number): string => {
  const n = Math.round((ms / 86_400_000) * 100) / 100;
  return `${n} day${n === 1 ? "" : "s"}`;
};

function checkLimits(rule: ResolvedRule, instances: PolicyInstance[], where: string, violations: PolicyViolation[]): void {
  const d = (t: string | undefined): IsoDuration | undefined => (t === undefined ? undefined : parseIsoDuration(t));
  const rbe = d(rule.rotateBeforeExpiry);
  const age = d(rule.maxAge);
  const exp = d(rule.newVersionExpiry);

  if (rule.autoRotate && rbe === undefined && age === undefined) {
    violations.push({ where, message: "rotates nothing: set rotateBeforeExpiry and/or maxAge, or autoRotate: false for notices only." });
  }
  if (rbe !== undefined && exp === undefined) {
    violations.push({ where, message: "sets rotateBeforeExpiry without newVersionExpiry; new versions would never expire, so they would never rotate again. Set newVersionExpiry." });
  }
  if (rbe !== undefined && exp !== undefined && maximumMs(rbe) >= minimumMs(exp)) {
    violations.push({ where, message: `rotateBeforeExpiry ${rule.rotateBeforeExpiry} is not shorter than newVersionExpiry ${rule.newVersionExpiry}; every new version would be due at once.` });
  }
  if (age !== undefined && exp !== undefined && maximumMs(age) >= minimumMs(exp)) {
    violations.push({ where, message: `maxAge ${rule.maxAge} is not shorter than newVersionExpiry ${rule.newVersionExpiry}; versions would expire before reaching maxAge.` });
  }
  for (const stage of rule.notifyBefore) {
    if (exp !== undefined && maximumMs(parseIsoDuration(stage)) >= minimumMs(exp)) {
      violations.push({ where, message: `notice stage ${stage} is not shorter than newVersionExpiry ${rule.newVersionExpiry}; it would fire as soon as a version is created.` });
    }
  }

  // The shortest time between two rotations this rule can produce, if it rotates at all.
  const intervals: { ms: number; text: string }[] = [];
  if (age !== undefined) intervals.push({ ms: minimumMs(age), text: `maxAge ${rule.maxAge}` });
  if (rbe !== undefined && exp !== undefined) {
    intervals.push({ ms: minimumMs(exp) - maximumMs(rbe), text: `newVersionExpiry ${rule.newVersionExpiry} - rotateBeforeExpiry ${rule.rotateBeforeExpiry}` });
  }
  const shortest = intervals.sort((a, b) => a.ms - b.ms)[0];

  const kinds = new Set(instances.map((i) => i.kind));
  const namesOf = (kind: string): string => instances.filter((i) => i.kind === kind).map((i) => i.name).join(", ");
  if (rule.autoRotate && kinds.has("managedHsm") && shortest !== undefined && shortest.ms < serviceLimits.managedHsm.minRotationIntervalMs) {
    violations.push({
      where,
      limit: "Managed HSM: at least 28 days between rotations",
      message: `rotates keys of Managed HSM ${namesOf("managedHsm")} every ${days(shortest.ms)} (${shortest.text}).`,
    });
  }
  if (kinds.has("vault")) {
    if (rule.autoRotate && shortest !== undefined && shortest.ms < serviceLimits.vault.minRotationIntervalMs) {
      violations.push({
        where,
        limit: "Key Vault: at least 7 days between rotations",
        message: `rotates keys of vault ${namesOf("vault")} every ${days(shortest.ms)} (${shortest.text}).`,
      });
    }
    if (rbe !== undefined && minimumMs(rbe) < serviceLimits.vault.minRotateBeforeExpiryMs) {
      violations.push({
        where,
        limit: "Key Vault: rotation at least 7 days before expiry",
        message: `sets rotateBeforeExpiry ${rule.rotateBeforeExpiry} for vault ${namesOf("vault")}.`,
      });
    }
    if (exp !== undefined && minimumMs(exp) < serviceLimits.vault.minNewVersionExpiryMs) {
      violations.push({
        where,
        limit: "Key Vault: expiry of new versions at least 28 days",
        message: `sets newVersionExpiry ${rule.newVersionExpiry} for vault ${namesOf("vault")}.`,
      });
    }
  }
}

/** Turns an ajv error into a violation that names the rule (by index and name) and the field. */
function schemaViolation(e: ErrorObject, doc: unknown): PolicyViolation {
  const parts = e.instancePath.split("/").filter((p) => p !== "");
  let where = "policy";
  let field = parts.join(".");
  if ((parts[0] === "rules" || parts[0] === "exclusions") && parts[1] !== undefined) {
    const index = Number(parts[1]);
    const list = (doc as Record<string, unknown> | null)?.[parts[0]];
    const name = parts[0] === "rules" && Array.isArray(list) ? (list[index] as { name?: unknown } | undefined)?.name : undefined;
    where = `${parts[0]}[${index}]${typeof name === "string" ? ` "${name}"` : ""}`;
    field = parts.slice(2).join(".");
  } else if (parts[0] === "defaults") {
    where = "defaults";
    field = parts.slice(1).join(".");
  }
  // ajv puts the offending name on the error itself for propertyNames sub-errors, in params for "required".
  const prop = e.propertyName ?? (e.params as { missingProperty?: string }).missingProperty;
  let message: string;
  if (e.keyword === "pattern" && e.schemaPath.includes("definitions/duration")) {
    message = `${field} is not an ISO 8601 duration with whole numbers (e.g. P90D, P1Y, PT12H).`;
  } else if (e.keyword === "enum" && prop !== undefined) {
    message = `has unknown field "${prop}"${field ? ` in ${field}` : ""}; allowed: ${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).join(", ")}.`;
  } else if (e.keyword === "required" && prop !== undefined) {
    message = `is missing required field "${prop}".`;
  } else {
    message = `${field || "value"} ${e.message ?? "is invalid"}.`;
  }
  return { where, message };
}
