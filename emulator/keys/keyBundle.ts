/**
 * Stored records → wire shapes (KeyBundle, KeyItem, DeletedKeyBundle, KeyRotationPolicy).
 * Only public key parts leave here: toPublicJwk, then private members are stripped again as a guard.
 * kid/recoveryId/id are built from the base URL the client used (the Host header).
 */
import { toPublicJwk } from "../crypto/keyMaterial";
import type { Instance } from "../instance";
import { latestVersion, type StoredDeletedKey, type StoredKey, type StoredKeyVersion } from "./keyModel";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "key_hsm"];

type InstanceInfo = Pick<Instance, "kind" | "purgeProtection" | "softDeleteRetentionDays">;

export function recoveryLevel(i: InstanceInfo): string {
  const base = i.softDeleteRetentionDays === 90 ? "Recoverable" : "CustomizedRecoverable";
  return i.purgeProtection ? base : `${base}+Purgeable`;
}

function attributes(i: InstanceInfo, v: StoredKeyVersion): Record<string, unknown> {
  const a: Record<string, unknown> = { enabled: v.enabled };
  if (v.nbf !== undefined) a["nbf"] = v.nbf;
  if (v.exp !== undefined) a["exp"] = v.exp;
  a["created"] = v.created;
  a["updated"] = v.updated;
  a["recoverableDays"] = i.softDeleteRetentionDays;
  a["recoveryLevel"] = recoveryLevel(i);
  a["exportable"] = v.exportable;
  a["hsmPlatform"] = v.kty.endsWith("-HSM") ? "2" : "0";
  return a;
}

export function kidOf(baseUrl: string, name: string, version?: string): string {
  return `${baseUrl}/keys/${name}${version === undefined ? "" : `/${version}`}`;
}

export function keyBundle(i: InstanceInfo, baseUrl: string, key: StoredKey, v: StoredKeyVersion): Record<string, unknown> {
  const pub = { ...(toPublicJwk(v.jwk) as unknown as Record<string, unknown>) };
  for (const m of PRIVATE_MEMBERS) delete pub[m];
  // Same member order as the service (kid, kty, key_ops, public parts); the wire kty ("RSA-HSM") wins
  // over the material's base kty.
  delete pub["kid"];
  delete pub["key_ops"];
  delete pub["kty"];
  const jwk: Record<string, unknown> = { kid: kidOf(baseUrl, key.name, v.version), kty: v.kty, key_ops: v.keyOps, ...pub };
  const bundle: Record<string, unknown> = { key: jwk, attributes: attributes(i, v) };
  if (v.tags !== undefined) bundle["tags"] = v.tags;
  if (v.releasePolicy !== undefined) bundle["release_policy"] = v.releasePolicy;
  return bundle;
}

export function keyItem(i: InstanceInfo, baseUrl: string, key: StoredKey, v: StoredKeyVersion, versioned: boolean): Record<string, unknown> {
  const item: Record<string, unknown> = { kid: kidOf(baseUrl, key.name, versioned ? v.version : undefined), attributes: attributes(i, v) };
  if (v.tags !== undefined) item["tags"] = v.tags;
  return item;
}

function deletedExtras(baseUrl: string, d: StoredDeletedKey): Record<string, unknown> {
  return { recoveryId: `${baseUrl}/deletedkeys/${d.key.name}`, deletedDate: d.deletedDate, scheduledPurgeDate: d.scheduledPurgeDate };
}

export function deletedKeyBundle(i: InstanceInfo, baseUrl: string, d: StoredDeletedKey): Record<string, unknown> {
  return { ...keyBundle(i, baseUrl, d.key, latestVersion(d.key)), ...deletedExtras(baseUrl, d) };
}

export function deletedKeyItem(i: InstanceInfo, baseUrl: string, d: StoredDeletedKey): Record<string, unknown> {
  return { ...keyItem(i, baseUrl, d.key, latestVersion(d.key), false), ...deletedExtras(baseUrl, d) };
}

export function rotationPolicyBody(i: InstanceInfo, baseUrl: string, key: StoredKey): Record<string, unknown> {
  const id = `${baseUrl}/keys/${key.name}/rotationpolicy`;
  const p = key.rotationPolicy;
  if (p === undefined) {
    // No policy set: a vault reports its default Notify action; a Managed HSM has none.
    const lifetimeActions = i.kind === "vault" ? [{ trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Notify" } }] : [];
    return { id, lifetimeActions, attributes: {} };
  }
  const attributes: Record<string, unknown> = {};
  if (p.expiryTime !== undefined) attributes["expiryTime"] = p.expiryTime;
  attributes["created"] = p.created;
  attributes["updated"] = p.updated;
  return { id, lifetimeActions: p.lifetimeActions, attributes };
}
