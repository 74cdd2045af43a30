/**
 * Rotation policy as code: the JSON file's shape (see rotationPolicy.schema.json) and its resolved form.
 * Changing a field name is a breaking change for users' policy files.
 */

/** Selects keys: every given criterion must match. */
export interface KeySelector {
  /** Instance names from HSMS / VAULTS; omitted = every instance the rotation acts on. */
  instances?: string[];
  /** Glob on the key name (`*` any run, `?` one character), case-insensitive like Key Vault names; default `*`. */
  keyName?: string;
  /** Every listed tag must be present; the value must equal, or be `*` for "any value". */
  tags?: Record<string, string>;
}

/** The lifecycle settings a rule carries (durations are ISO 8601 text as written in the file). */
export interface LifecycleSettings {
  /** Rotate when the current version expires within this duration. Needs `newVersionExpiry`. */
  rotateBeforeExpiry?: string;
  /** Rotate when the current version is older than this. */
  maxAge?: string;
  /** Expiry set on each new version (relative to its creation). */
  newVersionExpiry?: string;
  /** How long an old version stays enabled after a newer one exists; then it is disabled, never purged. */
  gracePeriod?: string;
  /** Near-expiry notice stages, e.g. ["P30D", "P7D", "P1D"]. */
  notifyBefore?: string[];
  /** false: only notices, never rotate (default true). */
  autoRotate?: boolean;
}

export interface PolicyRule extends KeySelector, LifecycleSettings {
  /** Unique; named in decisions, plans and validation errors. */
  name: string;
}

export interface PolicyExclusion extends KeySelector {
  /** Why these keys are left alone (shown by `plan`). */
  reason: string;
}

export interface RotationPolicyDocument {
  $schema?: string;
  version: 1;
  defaults?: LifecycleSettings;
  rules: PolicyRule[];
  exclusions?: PolicyExclusion[];
}

/** A rule after defaults are applied and durations parsed: what the decision functions use. JSON-safe. */
export interface ResolvedRule {
  name: string;
  /** Instance names the rule covers (already expanded from "all"). */
  instances: string[];
  keyName: string;
  tags: Record<string, string>;
  rotateBeforeExpiry?: string;
  maxAge?: string;
  newVersionExpiry?: string;
  gracePeriod: string;
  /** Canonical durations, longest first. */
  notifyBefore: string[];
  autoRotate: boolean;
}

export interface ResolvedExclusion {
  index: number;
  instances: string[];
  keyName: string;
  tags: Record<string, string>;
  reason: string;
}

/** The validated policy. Plain data (JSON-safe), so it can travel as orchestration input. */
export interface RotationPolicy {
  rules: ResolvedRule[];
  exclusions: ResolvedExclusion[];
}

/** An instance the policy may target; mirrors the settings' InstanceSetting without importing settings. */
export interface PolicyInstance {
  name: string;
  kind: "managedHsm" | "vault";
}
