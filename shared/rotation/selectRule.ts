import type { KeySelector, ResolvedExclusion, ResolvedRule, RotationPolicy } from "./policyTypes";

/**
 * Which policy entry governs a key. Exclusions are checked first and win. Then rules are tried in FILE
 * ORDER and the first match applies (like firewall rules): predictable, and `plan` names the rule, so a
 * broad rule placed before a narrow one is visible at once. "Most specific wins" was rejected because
 * specificity between a tag selector and a name pattern has no obvious order.
 */
export type RuleSelection =
  | { kind: "rule"; rule: ResolvedRule }
  | { kind: "excluded"; exclusion: ResolvedExclusion }
  | { kind: "none" };

export function selectRule(
  policy: RotationPolicy,
  instance: string,
  key: { name: string; tags?: Record<string, string> },
): RuleSelection {
  for (const exclusion of policy.exclusions) {
    if (matchesSelector(exclusion, instance, key)) return { kind: "excluded", exclusion };
  }
  for (const rule of policy.rules) {
    if (matchesSelector(rule, instance, key)) return { kind: "rule", rule };
  }
  return { kind: "none" };
}

/** True when the instance, name glob and every tag criterion match. */
export function matchesSelector(
  selector: Required<Pick<KeySelector, "instances" | "keyName" | "tags">>,
  instance: string,
  key: { name: string; tags?: Record<string, string> },
): boolean {
  if (!selector.instances.includes(instance)) return false;
  if (!globMatch(selector.keyName, key.name)) return false;
  const tags = key.tags ?? {};
  for (const [tag, want] of Object.entries(selector.tags)) {
    if (!Object.prototype.hasOwnProperty.call(tags, tag)) return false;
    if (want !== "*" && tags[tag] !== want) return false;
  }
  return true;
}

/**
 * `*` matches any run, `?` one character, everything else literally; case-insensitive because Key Vault
 * object names are. Iterative with backtracking on the last `*` only: linear-ish, no regex, no ReDoS.
 */
export function globMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === "?" || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      mark = ti;
    } else if (star !== -1) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}
