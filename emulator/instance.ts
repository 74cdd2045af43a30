/**
 * One emulated Managed HSM or vault: its state (keys, deleted keys, rotation policies, RBAC), clock,
 * audit log, security domain, events, persistence and the job lock / restore mode used by full
 * backup/restore (emulator/admin).
 *
 * Seams for other modules:
 * - `events` emits "keyVersionCreated" {name, version, nbf?, exp?, at} on create/import/rotate (also
 *   automatic rotations), "clockShifted" {offsetMs, now} and "clockTick" {now}.
 * - `currentKeyVersions()` enumerates current versions with nbf/exp (for near-expiry events).
 * - `snapshot()` / `replaceFromSnapshot()` take and atomically replace the complete state (full backup
 *   and restore). Snapshots contain private key material: seal them before they leave the process.
 * - `acquireJobLock()` / `releaseJobLock()` and `restoreMode` (data-plane calls refuse while true).
 * - `commit()` persists after a mutation; await it before answering so the change survives SIGKILL.
 */
import { EventEmitter } from "node:events";
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AuditLog } from "./audit";
import { Clock } from "./clock";
import { FaultInjector } from "./faults";
import type { InstanceKind } from "./instanceKind";
import { latestVersion, type StoredDeletedKey, type StoredKey, type StoredKeyVersion } from "./keys/keyModel";
import { KeyStore } from "./keys/keyStore";
import { adminRoleIds } from "./rbac/builtInRoles";
import type { RoleAssignment, RoleDefinition } from "./rbac/rbacModel";
import { RbacStore } from "./rbac/rbacStore";
import type { SecurityDomain } from "./securityDomain";
import { AtomicJsonFile } from "./store/atomicJsonFile";

/** The part of the state a full backup carries and a full restore replaces. */
export interface InstanceSnapshot {
  keys: Record<string, StoredKey>;
  deletedKeys: Record<string, StoredDeletedKey>;
  roleAssignments: RoleAssignment[];
  customRoleDefinitions: RoleDefinition[];
}

interface PersistedState extends InstanceSnapshot {
  format: "hsm-emulator-instance/1";
  kind: InstanceKind;
  clockOffsetMs: number;
  seededAdmins: string[];
}

export interface InstanceSettings {
  name: string;
  kind: InstanceKind;
  stateDir: string;
  securityDomain: SecurityDomain;
  /** Secret sealing single-key backups (HSM: its security domain; vaults: the shared vault secret). */
  keyBackupSecret: Buffer;
  purgeProtection: boolean;
  softDeleteRetentionDays: number;
  admins: string[];
}

export interface KeyVersionCreatedEvent {
  instance: string;
  name: string;
  version: string;
  nbf?: Date;
  exp?: Date;
  at: Date;
}

export interface CurrentKeyVersion {
  name: string;
  version: string;
  enabled: boolean;
  created: Date;
  nbf?: Date;
  exp?: Date;
}

function emptySnapshot(): InstanceSnapshot {
  return { keys: {}, deletedKeys: {}, roleAssignments: [], customRoleDefinitions: [] };
}

export class Instance {
  readonly name: string;
  readonly kind: InstanceKind;
  readonly clock = new Clock();
  readonly events = new EventEmitter();
  /** Fault injection settings (/_emulator/faults). */
  readonly faults = new FaultInjector();
  readonly audit: AuditLog;
  readonly keys: KeyStore;
  readonly rbac: RbacStore;
  /** Replaced when a recovery-mode HSM takes another HSM's domain by security-domain upload. */
  securityDomain: SecurityDomain;
  keyBackupSecret: Buffer;
  readonly purgeProtection: boolean;
  readonly softDeleteRetentionDays: number;
  /** Directory other modules may use for this instance's own files (e.g. admin jobs). */
  readonly dataDir: string;
  /** Base URL once listening, e.g. https://127.0.0.1:PORT (kid values use the request Host instead). */
  url = "";
  /** While true, data-plane routes answer 409 (see keyVaultErrors.restoreInProgress). */
  restoreMode = false;
  /** False until a new (recovery-mode) HSM's security domain is downloaded or uploaded (emulator/securitydomain). */
  activated = true;

  private state: PersistedState;
  private readonly file: AtomicJsonFile<PersistedState>;
  private jobLock: { id: string; kind: string } | undefined;
  private readonly admins: string[];

  constructor(settings: InstanceSettings) {
    this.name = settings.name;
    this.kind = settings.kind;
    this.securityDomain = settings.securityDomain;
    this.keyBackupSecret = settings.keyBackupSecret;
    this.purgeProtection = settings.purgeProtection;
    this.softDeleteRetentionDays = settings.softDeleteRetentionDays;
    this.admins = settings.admins;
    this.dataDir = join(settings.stateDir, "instances", settings.name);
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    this.events.setMaxListeners(50);
    const provider = this.kind === "managedHsm" ? "MANAGEDHSMS" : "VAULTS";
    this.audit = new AuditLog(`/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/EMULATOR/PROVIDERS/MICROSOFT.KEYVAULT/${provider}/${this.name.toUpperCase()}`, join(this.dataDir, "audit.jsonl"));
    this.file = new AtomicJsonFile<PersistedState>(join(this.dataDir, "state.json"), () => ({ ...this.state, clockOffsetMs: this.clock.offsetMs }));
    const loaded = this.file.read();
    if (loaded !== undefined && loaded.kind !== this.kind) {
      throw new Error(`State dir holds instance "${this.name}" as a ${loaded.kind}, but it was started as a ${this.kind}. Use another name or another --state-dir.`);
    }
    this.state = loaded ?? { format: "hsm-emulator-instance/1", kind: this.kind, clockOffsetMs: 0, seededAdmins: [], ...emptySnapshot() };
    if (this.state.clockOffsetMs > 0) this.clock.shift(this.state.clockOffsetMs);
    this.keys = new KeyStore({
      kind: this.kind,
      purgeProtection: this.purgeProtection,
      softDeleteRetentionDays: this.softDeleteRetentionDays,
      nowSeconds: () => this.clock.nowSeconds(),
      keysState: () => this.state,
      versionCreated: (name, v) => this.emitVersionCreated(name, v),
    });
    this.rbac = new RbacStore(this.kind, () => this.state);
    this.seedAdmins();
  }

  /** Grants --admin principals their roles at "/" the first time each is seen by this instance. */
  private seedAdmins(): void {
    for (const oid of this.admins) {
      if (this.state.seededAdmins.includes(oid)) continue;
      this.rbac.grantAtRoot(oid, adminRoleIds(this.kind), () => randomUUID());
      this.state.seededAdmins.push(oid);
    }
  }

  private emitVersionCreated(name: string, v: StoredKeyVersion): void {
    const event: KeyVersionCreatedEvent = { instance: this.name, name, version: v.version, at: new Date(v.created * 1000) };
    if (v.nbf !== undefined) event.nbf = new Date(v.nbf * 1000);
    if (v.exp !== undefined) event.exp = new Date(v.exp * 1000);
    this.events.emit("keyVersionCreated", event);
  }

  /** Writes the state to disk (atomic); resolves when this mutation is durable. */
  commit(): Promise<void> {
    return this.file.save();
  }

  currentKeyVersions(): CurrentKeyVersion[] {
    return Object.values(this.state.keys).map((k) => {
      const v = latestVersion(k);
      const out: CurrentKeyVersion = { name: k.name, version: v.version, enabled: v.enabled, created: new Date(v.created * 1000) };
      if (v.nbf !== undefined) out.nbf = new Date(v.nbf * 1000);
      if (v.exp !== undefined) out.exp = new Date(v.exp * 1000);
      return out;
    });
  }

  snapshot(): InstanceSnapshot {
    return structuredClone({
      keys: this.state.keys,
      deletedKeys: this.state.deletedKeys,
      roleAssignments: this.state.roleAssignments,
      customRoleDefinitions: this.state.customRoleDefinitions,
    });
  }

  /** Replaces keys, deleted keys, policies and RBAC in one step and persists it. */
  async replaceFromSnapshot(snapshot: InstanceSnapshot): Promise<void> {
    const copy = structuredClone(snapshot);
    if (typeof copy.keys !== "object" || typeof copy.deletedKeys !== "object" || !Array.isArray(copy.roleAssignments) || !Array.isArray(copy.customRoleDefinitions)) {
      throw new Error("Snapshot is malformed: expected keys, deletedKeys, roleAssignments and customRoleDefinitions.");
    }
    this.state = { ...this.state, ...copy };
    await this.commit();
  }

  /** Takes the single job slot (one full backup/restore at a time per HSM); false if taken. */
  acquireJobLock(id: string, kind: string): boolean {
    if (this.jobLock !== undefined) return false;
    this.jobLock = { id, kind };
    return true;
  }

  releaseJobLock(id: string): void {
    if (this.jobLock?.id === id) this.jobLock = undefined;
  }

  currentJob(): { id: string; kind: string } | undefined {
    return this.jobLock;
  }

  /** Moves this instance's time forward, then runs what fell due (rotations, purges). */
  async shiftClock(ms: number): Promise<{ offsetMs: number; now: Date; rotations: number }> {
    const offsetMs = this.clock.shift(ms);
    this.events.emit("clockShifted", { offsetMs, now: this.clock.now() });
    const rotations = await this.tick();
    await this.commit(); // the persisted clock offset moved
    return { offsetMs, now: this.clock.now(), rotations };
  }

  /** Periodic work: automatic rotations and purges that are due. Safe to call any time. */
  async tick(): Promise<number> {
    if (this.restoreMode) return 0;
    const rotations = this.keys.runDueRotations();
    const purged = this.keys.sweepPurges();
    this.events.emit("clockTick", { now: this.clock.now() });
    // Only write when something changed: the state file can be megabytes (100 versions of RSA-4096 keys).
    if (rotations > 0 || purged) await this.commit();
    return rotations;
  }

  /** Flushes files; call when the server stops. */
  async close(): Promise<void> {
    await this.commit();
    await this.audit.close();
  }

  /** Back to an empty instance: keys, deleted keys, policies, custom roles, assignments, audit, clock. */
  async reset(): Promise<void> {
    this.clock.reset();
    this.state = { format: "hsm-emulator-instance/1", kind: this.kind, clockOffsetMs: 0, seededAdmins: [], ...emptySnapshot() };
    this.audit.clear();
    this.faults.config = {};
    this.restoreMode = false;
    this.jobLock = undefined;
    this.seedAdmins();
    await this.commit();
  }
}
