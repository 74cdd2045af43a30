/**
 * Security domains: 32 random bytes (+ an id) per domain, persisted in DIR/security-domains/<owner>.json.
 * An HSM started with `security-domain=OTHER` shares OTHER's domain (that is what lets a DR HSM restore
 * the primary's backups). Vaults share one "subscription" secret so single-key backups move between
 * vaults, as Azure allows within a subscription/geography.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface SecurityDomain {
  /** Stable id of the domain (compare ids to tell whether two HSMs share a domain). */
  id: string;
  /** The owner instance name (or "vaults" for the vault secret). */
  owner: string;
  /** Never log or return this. */
  secret: Buffer;
}

export function loadOrCreateSecurityDomain(stateDir: string, owner: string): SecurityDomain {
  const dir = join(stateDir, "security-domains");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${owner}.json`);
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { id: string; secret: string };
    return { id: parsed.id, owner, secret: Buffer.from(parsed.secret, "base64") };
  }
  const domain = { id: randomUUID(), secret: randomBytes(32).toString("base64") };
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(domain), { mode: 0o600 });
  renameSync(tmp, file);
  return { id: domain.id, owner, secret: Buffer.from(domain.secret, "base64") };
}

/** Replaces an owner's domain file (an HSM that took another domain by security-domain upload). */
export function saveSecurityDomain(stateDir: string, domain: SecurityDomain): void {
  const dir = join(stateDir, "security-domains");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${domain.owner}.json`);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ id: domain.id, secret: domain.secret.toString("base64") }), { mode: 0o600 });
  renameSync(tmp, file);
}
