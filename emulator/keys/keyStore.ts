/**
 * The key store of one instance: versions, soft delete, recover/purge, rotation (manual and the
 * automatic rotations a policy makes due), rotation-policy limits, single-key backup payloads.
 * It mutates the instance state in place (the caller persists); validation happens BEFORE any mutation
 * so bad input changes nothing.
 */
import { randomBytes } from "node:crypto";
import { generateKeyMaterial, generateKeyMaterialAsync, importKeyMaterial, type PrivateJwk } from "../crypto/keyMaterial";
import { keyVaultErrors } from "../errors";
import type { InstanceKind } from "../instanceKind";
import { DAY_SECONDS, parseIsoDuration } from "./isoDuration";
import { latestVersion, type StoredDeletedKey, type StoredKey, type StoredKeyVersion, type StoredLifetimeAction, type StoredReleasePolicy, type StoredRotationPolicy } from "./keyModel";
import { defaultKeyOps, EC_CURVES, OCT_SIZES, resolveKty, RSA_SIZES, validateKeyOps, type BaseKty } from "./keyTypes";

export interface KeysState {
  keys: Record<string, StoredKey>;
  deletedKeys: Record<string, StoredDeletedKey>;
}

export interface KeyStoreHost {
  readonly kind: InstanceKind;
  readonly purgeProtection: boolean;
  readonly softDeleteRetentionDays: number;
  nowSeconds(): number;
  keysState(): KeysState;
  versionCreated(name: string, version: StoredKeyVersion): void;
  /** The key (or deleted key) of this name changed or went away: persistence records just that entry. */
  keyChanged(name: string): void;
}

export interface KeyBackupPayload {
  format: "hsm-emulator-key-backup/1";
  kind: InstanceKind;
  key: StoredKey;
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;
export const MAX_VERSIONS_HSM = 100;
export const MAX_KEYS_HSM = 5000;

export function validateKeyName(name: string): string {
  if (!NAME.test(name)) throw keyVaultErrors.badParameter(`The request URI contains an invalid name: ${name}. Key names may only contain 1-127 letters, digits and dashes.`);
  return name;
}

function newVersionId(): string {
  return randomBytes(16).toString("hex");
}

function optionalInt(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw keyVaultErrors.badParameter(`attributes.${field} must be an integer number of seconds since 1970-01-01 UTC.`);
  return value;
}

interface ParsedAttributes {
  enabled?: boolean;
  nbf?: number | null;
  exp?: number | null;
  exportable?: boolean;
}

function parseAttributes(value: unknown): ParsedAttributes {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw keyVaultErrors.badParameter("attributes must be an object.");
  const a = value as Record<string, unknown>;
  const out: ParsedAttributes = {};
  if (a["enabled"] !== undefined && a["enabled"] !== null) {
    if (typeof a["enabled"] !== "boolean") throw keyVaultErrors.badParameter("attributes.enabled must be a boolean.");
    out.enabled = a["enabled"];
  }
  if ("nbf" in a) out.nbf = optionalInt(a["nbf"], "nbf") ?? null;
  if ("exp" in a) out.exp = optionalInt(a["exp"], "exp") ?? null;
  if (a["exportable"] !== undefined && a["exportable"] !== null) {
    if (typeof a["exportable"] !== "boolean") throw keyVaultErrors.badParameter("attributes.exportable must be a boolean.");
    out.exportable = a["exportable"];
  }
  if (typeof out.nbf === "number" && typeof out.exp === "number" && out.nbf > out.exp) throw keyVaultErrors.badParameter("attributes.nbf must not be later than attributes.exp.");
  return out;
}

function parseTags(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw keyVaultErrors.badParameter("tags must be an object of string values.");
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 15) throw keyVaultErrors.badParameter("Limit exceeded: a key can have at most 15 tags.");
  for (const [k, v] of entries) {
    if (typeof v !== "string") throw keyVaultErrors.badParameter(`Tag '${k}' must have a string value.`);
    if (k.length > 256 || v.length > 256) throw keyVaultErrors.badParameter("Limit exceeded: tag names and values are at most 256 characters.");
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseReleasePolicy(value: unknown): StoredReleasePolicy | undefined {
  if (value === undefined || value === null) return undefined;
  const p = value as Record<string, unknown>;
  if (typeof p["data"] !== "string" || p["data"] === "") throw keyVaultErrors.badParameter("release_policy.data must be the base64url-encoded policy JSON.");
  return { contentType: "application/json; charset=utf-8", data: p["data"], immutable: p["immutable"] === true };
}

function materialShape(jwk: PrivateJwk): { size?: number; curve?: string } {
  const j = jwk as unknown as Record<string, unknown>;
  if (typeof j["n"] === "string") return { size: Buffer.from(j["n"], "base64url").length * 8 };
  if (typeof j["k"] === "string") return { size: Buffer.from(j["k"], "base64url").length * 8 };
  if (typeof j["crv"] === "string") return { curve: j["crv"] };
  return {};
}

function baseOf(wireKty: string): BaseKty {
  const b = wireKty.replace(/-HSM$/, "");
  return b === "RSA" ? "RSA" : b === "EC" ? "EC" : "oct";
}

export class KeyStore {
  /** Number of keys in `keys` (that very object): counting a 5,000-entry object on every create costs O(n log n). */
  private countCache: { keys: object; count: number } | undefined;

  constructor(private readonly host: KeyStoreHost) {}

  private keyCount(): number {
    const keys = this.state.keys;
    if (this.countCache?.keys !== keys) this.countCache = { keys, count: Object.keys(keys).length };
    return this.countCache.count;
  }

  /** Adds `delta` to the cached count after adding or removing a key from `keys`. */
  private countChanged(delta: number): void {
    if (this.countCache?.keys === this.state.keys) this.countCache.count += delta;
  }

  private get state(): KeysState {
    return this.host.keysState();
  }

  // ---- reads ----

  get(name: string, version?: string): { key: StoredKey; version: StoredKeyVersion } {
    const key = this.state.keys[name];
    if (key === undefined) throw keyVaultErrors.keyNotFound(version ? `${name}/${version}` : name);
    if (version === undefined || version === "") return { key, version: latestVersion(key) };
    const v = key.versions.find((x) => x.version === version.toLowerCase());
    if (v === undefined) throw keyVaultErrors.keyNotFound(`${name}/${version}`);
    return { key, version: v };
  }

  list(): StoredKey[] {
    return Object.values(this.state.keys).sort((a, b) => a.name.localeCompare(b.name));
  }

  getDeleted(name: string): StoredDeletedKey {
    this.sweepPurges();
    const d = this.state.deletedKeys[name];
    if (d === undefined) throw keyVaultErrors.deletedKeyNotFound(name);
    return d;
  }

  listDeleted(): StoredDeletedKey[] {
    this.sweepPurges();
    return Object.values(this.state.deletedKeys).sort((a, b) => a.key.name.localeCompare(b.key.name));
  }

  // ---- writes ----

  private assertNameFree(name: string): void {
    if (this.state.deletedKeys[name] !== undefined) {
      throw keyVaultErrors.conflict(
        `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`,
      );
    }
  }

  private assertVersionRoom(name: string): void {
    const key = this.state.keys[name];
    if (this.host.kind === "managedHsm" && key === undefined && this.keyCount() >= MAX_KEYS_HSM) {
      throw keyVaultErrors.badParameter(`Limit reached: a Managed HSM holds at most ${MAX_KEYS_HSM} keys.`);
    }
    if (this.host.kind === "managedHsm" && key !== undefined && key.versions.length >= MAX_VERSIONS_HSM) {
      throw keyVaultErrors.badParameter(`Limit reached: Managed HSM allows at most ${MAX_VERSIONS_HSM} versions per key; key ${name} already has ${key.versions.length}.`);
    }
  }

  private addVersion(name: string, v: StoredKeyVersion): StoredKeyVersion {
    const existing = this.state.keys[name];
    if (existing === undefined) {
      this.state.keys[name] = { name, versions: [v] };
      this.countChanged(1);
    } else existing.versions.push(v);
    this.host.keyChanged(name);
    this.host.versionCreated(name, v);
    return v;
  }

  /** Generates off the event loop (RSA-4096 takes seconds), then re-checks the name before adding. */
  async create(name: string, body: unknown): Promise<StoredKeyVersion> {
    validateKeyName(name);
    const b = (body ?? {}) as Record<string, unknown>;
    const { base, wire } = resolveKty(this.host.kind, b["kty"]);
    const opts: { size?: number; curve?: string } = {};
    if (base === "RSA") {
      const size = b["key_size"] ?? 2048;
      if (typeof size !== "number" || !RSA_SIZES.includes(size)) throw keyVaultErrors.badParameter(`Unsupported RSA key size ${String(size)}; use ${RSA_SIZES.join(", ")}.`);
      const e = b["public_exponent"];
      if (e !== undefined && e !== null && e !== 65537) throw keyVaultErrors.badParameter("Only the public exponent 65537 is supported.");
      opts.size = size;
    } else if (base === "EC") {
      const crv = b["crv"] ?? "P-256";
      if (typeof crv !== "string" || !EC_CURVES.includes(crv)) throw keyVaultErrors.badParameter(`Unsupported curve ${String(crv)}; use ${EC_CURVES.join(", ")}.`);
      opts.curve = crv;
    } else {
      const size = b["key_size"] ?? 256;
      if (typeof size !== "number" || !OCT_SIZES.includes(size)) throw keyVaultErrors.badParameter(`Unsupported AES key size ${String(size)}; use ${OCT_SIZES.join(", ")}.`);
      opts.size = size;
    }
    const attrs = parseAttributes(b["attributes"]);
    const keyOps = validateKeyOps(b["key_ops"]) ?? defaultKeyOps(base);
    const tags = parseTags(b["tags"]);
    const releasePolicy = parseReleasePolicy(b["release_policy"]);
    this.checkExportable(attrs.exportable === true, releasePolicy);
    this.assertNameFree(name);
    this.assertVersionRoom(name);
    const jwk = await generateKeyMaterialAsync(base, opts);
    // Another request may have deleted the name or filled the versions meanwhile.
    this.assertNameFree(name);
    this.assertVersionRoom(name);
    const now = this.host.nowSeconds();
    return this.addVersion(name, this.buildVersion(wire, keyOps, jwk, attrs, now, tags, releasePolicy));
  }

  import(name: string, body: unknown): StoredKeyVersion {
    validateKeyName(name);
    const b = (body ?? {}) as Record<string, unknown>;
    const key = b["key"];
    if (key === undefined || key === null || typeof key !== "object") throw keyVaultErrors.badParameter("The request body must have 'key': the JSON Web Key to import.");
    const k = key as Record<string, unknown>;
    const { base, wire } = resolveKty(this.host.kind, k["kty"], true, b["Hsm"] === true);
    const attrs = parseAttributes(b["attributes"]);
    const keyOps = validateKeyOps(k["key_ops"]) ?? defaultKeyOps(base);
    const tags = parseTags(b["tags"]);
    const releasePolicy = parseReleasePolicy(b["release_policy"]);
    this.checkExportable(attrs.exportable === true, releasePolicy);
    this.assertNameFree(name);
    this.assertVersionRoom(name);
    const jwk = importKeyMaterial({ ...k, kty: base });
    if (base === "RSA" && !RSA_SIZES.includes(materialShape(jwk).size ?? 0)) {
      throw keyVaultErrors.badParameter(`Unsupported RSA key size ${materialShape(jwk).size ?? 0}; use ${RSA_SIZES.join(", ")}.`);
    }
    const now = this.host.nowSeconds();
    return this.addVersion(name, this.buildVersion(wire, keyOps, jwk, attrs, now, tags, releasePolicy));
  }

  private checkExportable(exportable: boolean, releasePolicy: StoredReleasePolicy | undefined): void {
    if (exportable && releasePolicy === undefined) throw keyVaultErrors.badParameter("Exportable keys must have release policy");
    if (!exportable && releasePolicy !== undefined) throw keyVaultErrors.badParameter("Non-exportable keys must not have release policy");
  }

  private buildVersion(
    kty: string,
    keyOps: string[],
    jwk: PrivateJwk,
    attrs: ParsedAttributes,
    created: number,
    tags?: Record<string, string>,
    releasePolicy?: StoredReleasePolicy,
  ): StoredKeyVersion {
    const v: StoredKeyVersion = {
      version: newVersionId(),
      kty,
      keyOps,
      jwk,
      enabled: attrs.enabled ?? true,
      created,
      updated: created,
      exportable: attrs.exportable ?? false,
    };
    if (typeof attrs.nbf === "number") v.nbf = attrs.nbf;
    if (typeof attrs.exp === "number") v.exp = attrs.exp;
    if (tags !== undefined) v.tags = tags;
    if (releasePolicy !== undefined) v.releasePolicy = releasePolicy;
    return v;
  }

  update(name: string, version: string | undefined, body: unknown): StoredKeyVersion {
    const { version: v } = this.get(name, version);
    const b = (body ?? {}) as Record<string, unknown>;
    const attrs = parseAttributes(b["attributes"]);
    const keyOps = validateKeyOps(b["key_ops"]);
    const tags = parseTags(b["tags"]);
    const releasePolicy = parseReleasePolicy(b["release_policy"]);
    if (attrs.exportable !== undefined && attrs.exportable !== v.exportable) throw keyVaultErrors.badParameter("attributes.exportable cannot be changed after creation.");
    if (releasePolicy !== undefined && v.releasePolicy?.immutable) throw keyVaultErrors.badParameter("AKV.SKR.1020: Immutable Key Release Policy cannot be modified.");
    const nbf = attrs.nbf === undefined ? v.nbf : attrs.nbf ?? undefined;
    const exp = attrs.exp === undefined ? v.exp : attrs.exp ?? undefined;
    if (nbf !== undefined && exp !== undefined && nbf > exp) throw keyVaultErrors.badParameter("attributes.nbf must not be later than attributes.exp.");
    // All checks passed: mutate.
    if (attrs.enabled !== undefined) v.enabled = attrs.enabled;
    if (nbf === undefined) delete v.nbf;
    else v.nbf = nbf;
    if (exp === undefined) delete v.exp;
    else v.exp = exp;
    if (keyOps !== undefined) v.keyOps = keyOps;
    if (tags !== undefined) v.tags = tags;
    if (releasePolicy !== undefined) v.releasePolicy = releasePolicy;
    v.updated = this.host.nowSeconds();
    this.host.keyChanged(name);
    return v;
  }

  delete(name: string): StoredDeletedKey {
    const key = this.state.keys[name];
    if (key === undefined) throw keyVaultErrors.keyNotFound(name);
    const now = this.host.nowSeconds();
    const deleted: StoredDeletedKey = { key, deletedDate: now, scheduledPurgeDate: now + this.host.softDeleteRetentionDays * DAY_SECONDS };
    delete this.state.keys[name];
    this.countChanged(-1);
    this.state.deletedKeys[name] = deleted;
    this.host.keyChanged(name);
    return deleted;
  }

  recover(name: string): StoredKey {
    const d = this.getDeleted(name);
    if (this.state.keys[name] !== undefined) throw keyVaultErrors.conflict(`Key ${name} exists and is not deleted; there is nothing to recover.`);
    delete this.state.deletedKeys[name];
    this.state.keys[name] = d.key;
    this.countChanged(1);
    this.host.keyChanged(name);
    return d.key;
  }

  purge(name: string): void {
    const d = this.getDeleted(name);
    if (this.host.purgeProtection && d.scheduledPurgeDate > this.host.nowSeconds()) {
      throw keyVaultErrors.forbidden(
        `Operation "purge" is not allowed because purge protection is enabled for this ${this.host.kind === "managedHsm" ? "managed HSM" : "vault"}. Key ${name} can be recovered, and is purged automatically at its scheduledPurgeDate.`,
      );
    }
    delete this.state.deletedKeys[name];
    this.host.keyChanged(name);
  }

  /** Purges deleted keys whose scheduled purge date has passed (the service does this on its own). */
  sweepPurges(): boolean {
    const now = this.host.nowSeconds();
    let changed = false;
    for (const [name, d] of Object.entries(this.state.deletedKeys)) {
      if (d.scheduledPurgeDate <= now) {
        delete this.state.deletedKeys[name];
        this.host.keyChanged(name);
        changed = true;
      }
    }
    return changed;
  }

  // ---- rotation ----

  /** On-demand rotation (POST /keys/{name}/rotate). */
  async rotateOnDemand(name: string): Promise<StoredKeyVersion> {
    const check = (): StoredKey => {
      const key = this.state.keys[name];
      if (key === undefined) throw keyVaultErrors.keyNotFound(name);
      if (this.host.kind === "managedHsm" && key.rotationPolicy === undefined) {
        throw keyVaultErrors.badParameter(`Key ${name} has no rotation policy. Managed HSM requires a rotation policy before a key can be rotated on demand: set one with PUT /keys/${name}/rotationpolicy.`);
      }
      this.assertVersionRoom(name);
      return key;
    };
    const current = latestVersion(check());
    const jwk = await generateKeyMaterialAsync(baseOf(current.kty), materialShape(current.jwk));
    check();
    return this.rotate(name, undefined, jwk);
  }

  /** Adds a new version like the current one (fresh material); `at` back-dates automatic rotations. */
  rotate(name: string, at?: number, material?: PrivateJwk): StoredKeyVersion {
    const key = this.state.keys[name];
    if (key === undefined) throw keyVaultErrors.keyNotFound(name);
    this.assertVersionRoom(name);
    const current = latestVersion(key);
    const base = baseOf(current.kty);
    const jwk = material ?? generateKeyMaterial(base, materialShape(current.jwk));
    const created = at ?? this.host.nowSeconds();
    const expirySeconds = key.rotationPolicy?.expiryTime !== undefined ? parseIsoDuration(key.rotationPolicy.expiryTime) : undefined;
    const attrs: ParsedAttributes = { enabled: current.enabled, exportable: current.exportable };
    if (expirySeconds !== undefined) attrs.exp = created + expirySeconds;
    return this.addVersion(name, this.buildVersion(current.kty, [...current.keyOps], jwk, attrs, created, current.tags && { ...current.tags }, current.releasePolicy && { ...current.releasePolicy }));
  }

  getPolicy(name: string): StoredRotationPolicy | undefined {
    const key = this.state.keys[name];
    if (key === undefined) throw keyVaultErrors.keyNotFound(name);
    return key.rotationPolicy;
  }

  setPolicy(name: string, body: unknown): StoredRotationPolicy {
    const key = this.state.keys[name];
    if (key === undefined) throw keyVaultErrors.keyNotFound(name);
    const policy = this.validatePolicy(body, key.rotationPolicy);
    key.rotationPolicy = policy;
    this.host.keyChanged(name);
    return policy;
  }

  private validatePolicy(body: unknown, previous: StoredRotationPolicy | undefined): StoredRotationPolicy {
    const b = (body ?? {}) as Record<string, unknown>;
    const hsm = this.host.kind === "managedHsm";
    const minIntervalDays = hsm ? 28 : 7;
    const attributes = (b["attributes"] ?? {}) as Record<string, unknown>;
    let expiryTime: string | undefined;
    let expirySeconds: number | undefined;
    if (attributes["expiryTime"] !== undefined && attributes["expiryTime"] !== null) {
      if (typeof attributes["expiryTime"] !== "string" || parseIsoDuration(attributes["expiryTime"]) === undefined) {
        throw keyVaultErrors.badParameter("attributes.expiryTime must be an ISO-8601 duration such as P90D.");
      }
      expiryTime = attributes["expiryTime"];
      expirySeconds = parseIsoDuration(expiryTime) as number;
      if (expirySeconds < 28 * DAY_SECONDS) throw keyVaultErrors.badParameter(`Rotation policy limit: expiryTime (${expiryTime}) must be at least 28 days (P28D).`);
    }
    const raw = b["lifetimeActions"] ?? [];
    if (!Array.isArray(raw)) throw keyVaultErrors.badParameter("lifetimeActions must be an array.");
    if (raw.length > 2) throw keyVaultErrors.badParameter("Rotation policy limit: lifetimeActions can have at most two items, one Rotate and one Notify.");
    const actions: StoredLifetimeAction[] = [];
    for (const item of raw as Record<string, unknown>[]) {
      const typeRaw = (item?.["action"] as Record<string, unknown> | undefined)?.["type"];
      const type = typeof typeRaw === "string" ? (typeRaw.toLowerCase() === "rotate" ? "Rotate" : typeRaw.toLowerCase() === "notify" ? "Notify" : undefined) : undefined;
      if (type === undefined) throw keyVaultErrors.badParameter("Each lifetime action needs action.type 'Rotate' or 'Notify'.");
      if (actions.some((a) => a.action.type === type)) throw keyVaultErrors.badParameter(`Rotation policy has more than one '${type}' action.`);
      const trigger = (item["trigger"] ?? {}) as Record<string, unknown>;
      const tac = trigger["timeAfterCreate"];
      const tbe = trigger["timeBeforeExpiry"];
      if ((tac === undefined || tac === null) === (tbe === undefined || tbe === null)) {
        throw keyVaultErrors.badParameter("Each lifetime action trigger needs exactly one of timeAfterCreate or timeBeforeExpiry.");
      }
      const stored: StoredLifetimeAction = { trigger: {}, action: { type } };
      if (typeof tac === "string") {
        if (type === "Notify") throw keyVaultErrors.badParameter("A Notify action supports only timeBeforeExpiry.");
        const s = parseIsoDuration(tac);
        if (s === undefined) throw keyVaultErrors.badParameter(`timeAfterCreate '${tac}' is not an ISO-8601 duration.`);
        if (type === "Rotate" && s < minIntervalDays * DAY_SECONDS) {
          throw keyVaultErrors.badParameter(
            `Rotation policy limit: ${hsm ? "Managed HSM" : "Key Vault"} rotates a key at most every ${minIntervalDays} days; timeAfterCreate (${tac}) must be at least P${minIntervalDays}D.`,
          );
        }
        if (expirySeconds !== undefined && s >= expirySeconds) throw keyVaultErrors.badParameter(`timeAfterCreate (${tac}) must be shorter than expiryTime (${expiryTime}).`);
        stored.trigger.timeAfterCreate = tac;
      } else if (typeof tbe === "string") {
        const s = parseIsoDuration(tbe);
        if (s === undefined) throw keyVaultErrors.badParameter(`timeBeforeExpiry '${tbe}' is not an ISO-8601 duration.`);
        // Without expiryTime the trigger counts back from the key's own exp attribute (nothing to check here).
        if (type === "Rotate" && expirySeconds !== undefined) {
          if (expirySeconds - s < minIntervalDays * DAY_SECONDS) {
            throw keyVaultErrors.badParameter(
              `Rotation policy limit: ${hsm ? "Managed HSM" : "Key Vault"} rotates a key at most every ${minIntervalDays} days; expiryTime (${expiryTime}) minus timeBeforeExpiry (${tbe}) must be at least P${minIntervalDays}D.`,
            );
          }
        }
        stored.trigger.timeBeforeExpiry = tbe;
      } else {
        throw keyVaultErrors.badParameter("Lifetime action triggers must be ISO-8601 duration strings.");
      }
      actions.push(stored);
    }
    // A vault adds the default Notify action when none is given (observed on the real service).
    if (!hsm && !actions.some((a) => a.action.type === "Notify")) actions.push({ trigger: { timeBeforeExpiry: "P30D" }, action: { type: "Notify" } });
    const now = this.host.nowSeconds();
    const policy: StoredRotationPolicy = { lifetimeActions: actions, created: previous?.created ?? now, updated: now };
    if (expiryTime !== undefined) policy.expiryTime = expiryTime;
    return policy;
  }

  /**
   * Runs the automatic rotations that are due at the current instance time, back-dating each new
   * version to the moment it fell due (so a 200-day clock shift with P90D rotates twice).
   * Returns the number of versions created.
   */
  runDueRotations(): number {
    const now = this.host.nowSeconds();
    let created = 0;
    for (const key of Object.values(this.state.keys)) {
      const rotate = key.rotationPolicy?.lifetimeActions.find((a) => a.action.type === "Rotate");
      if (rotate === undefined) continue;
      for (let guard = 0; guard < MAX_VERSIONS_HSM; guard++) {
        const current = latestVersion(key);
        let due: number | undefined;
        if (rotate.trigger.timeAfterCreate !== undefined) due = current.created + (parseIsoDuration(rotate.trigger.timeAfterCreate) ?? Infinity);
        else if (rotate.trigger.timeBeforeExpiry !== undefined && current.exp !== undefined) due = current.exp - (parseIsoDuration(rotate.trigger.timeBeforeExpiry) ?? 0);
        if (due === undefined || due > now) break;
        if (this.host.kind === "managedHsm" && key.versions.length >= MAX_VERSIONS_HSM) break;
        this.rotate(key.name, Math.max(due, current.created + 1));
        created++;
      }
    }
    return created;
  }

  // ---- single-key backup ----

  backupPayload(name: string): KeyBackupPayload {
    const key = this.state.keys[name];
    if (key === undefined) throw keyVaultErrors.keyNotFound(name);
    return { format: "hsm-emulator-key-backup/1", kind: this.host.kind, key: structuredClone(key) };
  }

  restorePayload(payload: unknown): StoredKey {
    const p = payload as Partial<KeyBackupPayload> | undefined;
    if (p?.format !== "hsm-emulator-key-backup/1" || p.key === undefined || !Array.isArray(p.key.versions)) {
      throw keyVaultErrors.badParameter("Backup blob contains invalid or corrupt version.");
    }
    if (p.kind !== this.host.kind) {
      throw keyVaultErrors.badParameter(`This backup was taken from a ${p.kind === "managedHsm" ? "Managed HSM" : "vault"} and cannot be restored into a ${this.host.kind === "managedHsm" ? "Managed HSM" : "vault"}.`);
    }
    const name = p.key.name;
    if (this.state.keys[name] !== undefined || this.state.deletedKeys[name] !== undefined) {
      throw keyVaultErrors.conflict(`There was a conflict restoring the key '${name}'. A key with this name already exists (or is soft-deleted): delete and purge it first.`);
    }
    this.state.keys[name] = p.key;
    this.countChanged(1);
    this.host.keyChanged(name);
    return p.key;
  }
}
