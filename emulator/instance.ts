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
 *   Persistence is a snapshot plus an append-only journal (store/stateJournal.ts): the key store reports
 *   which key names it changed (`keyChanged`), everything else is small and recorded when it differs.
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
import { StateJournal } from "./store/stateJournal";
import { CapacityModel, type CapacitySettings } from "./capacity/capacityModel";
import { keyShapeOf, operationCapacity, type KeyShape } from "./capacity/scalingGuidance";

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
  /** stderr logger (default: none). */
  log?: (line: string) => void;
  /** Opt-in model of the HSM's throughput (scaling guidance); absent = unlimited. */
  capacity?: CapacitySettings;
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

/** The state's per-key collections: journalled entry by entry (the rest is small and journalled whole). */
const KEY_COLLECTIONS = ["keys", "deletedKeys"] as const;

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
  /** The modelled HSM throughput when enabled (`--capacity`); see capacity/capacityModel.ts. */
  readonly capacity: CapacityModel | undefined;
  /** False until a new (recovery-mode) HSM's security domain is downloaded or uploaded (emulator/securitydomain). */
  activated = true;

  private state: PersistedState;
  private readonly journal: StateJournal;
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
    this.capacity = settings.capacity !== undefined ? new CapacityModel(settings.capacity) : undefined;
    this.dataDir = join(settings.stateDir, "instances", settings.name);
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    this.events.setMaxListeners(50);
    const provider = this.kind === "managedHsm" ? "MANAGEDHSMS" : "VAULTS";
    this.audit = new AuditLog(`/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/EMULATOR/PROVIDERS/MICROSOFT.KEYVAULT/${provider}/${this.name.toUpperCase()}`, join(this.dataDir, "audit.jsonl"));
    const log = settings.log ?? ((): void => undefined);
    this.journal = new StateJournal({ dir: this.dataDir, collections: KEY_COLLECTIONS, legacyFile: "state.json", log: (line) => log(`[${this.name}] ${line}`) });
    const result = this.journal.load();
    if (result.migratedLegacy) log(`[${this.name}] migrated state.json to snapshot.json + journal (append-only persistence)`);
    if (result.droppedTornBytes > 0) log(`[${this.name}] dropped a torn last journal record (${result.droppedTornBytes} bytes, never acknowledged) left by a crash`);
    const loaded = result.state === undefined ? undefined : ({ ...result.state.meta, ...result.state.collections } as unknown as PersistedState);
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
      keyChanged: (name) => {
        for (const c of KEY_COLLECTIONS) this.journal.touch(c, name);
      },
    });
    this.rbac = new RbacStore(this.kind, () => this.state);
    this.journal.attach({
      meta: () => {
        const { keys: _keys, deletedKeys: _deleted, ...meta } = this.state;
        return { ...meta, clockOffsetMs: this.clock.offsetMs };
      },
      collection: (name) => this.state[name as (typeof KEY_COLLECTIONS)[number]],
    });
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

  /** Appends what changed to the journal; resolves when this mutation is durable. */
  commit(): Promise<void> {
    return this.journal.commit();
  }

  /** Appends and snapshots written so far (benches and tests). */
  persistenceStats(): { appends: number; snapshots: number } {
    return { ...this.journal.stats };
  }

  /** Waits for the modelled capacity of this operation (when enabled); throws 429 Throttled past the queue limit. */
  async admitCapacity(operationName: string, params: Record<string, string>): Promise<void> {
    if (this.capacity === undefined) return;
    const capacity = operationCapacity(operationName, () => this.keyShape(params["name"], params["version"]));
    if (capacity !== undefined) await this.capacity.admit(operationName, capacity);
  }

  private keyShape(name: string | undefined, version: string | undefined): KeyShape | undefined {
    const key = name === undefined ? undefined : this.state.keys[name];
    if (key === undefined) return undefined;
    const v = version === undefined || version === "" ? latestVersion(key) : key.versions.find((x) => x.version === version.toLowerCase());
    return v === undefined ? undefined : keyShapeOf(v.kty, v.jwk);
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
    this.journal.rewriteAll();
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
    await this.journal.close();
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
    this.journal.rewriteAll();
    await this.commit();
  }
}
