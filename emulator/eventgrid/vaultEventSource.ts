import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { EventRecord } from "./eventRecord";
import { vaultResourceId } from "./resourceIds";

/** A key version as the vault store knows it; times in Unix seconds. */
export interface VaultKeyVersion {
  readonly name: string;
  readonly version: string;
  readonly created: number;
  readonly nbf?: number | undefined;
  readonly exp?: number | undefined;
}

export const KEY_VAULT_EVENT_TYPES = {
  keyNewVersionCreated: "Microsoft.KeyVault.KeyNewVersionCreated",
  keyNearExpiry: "Microsoft.KeyVault.KeyNearExpiry",
  keyExpired: "Microsoft.KeyVault.KeyExpired",
} as const;

/** Key Vault raises KeyNearExpiry 30 days before `exp`. */
export const NEAR_EXPIRY_SECONDS = 30 * 24 * 3600;

export interface VaultEventSourceOptions {
  readonly vaultName: string;
  /** `https://127.0.0.1:PORT`: key ids in event data are the ids the SDK sees from this vault. */
  readonly vaultUrl: string;
  /** Emulator clock, epoch ms (follows clock shifts). */
  readonly now: () => number;
  /** Every live (not deleted) key version of the vault. */
  readonly listKeyVersions: () => Iterable<VaultKeyVersion>;
  /** Receives the events (normally `engine.publish(vaultName, …)`). */
  readonly emit: (events: EventRecord[]) => void;
  /** File remembering which expiry events were raised, so a restart does not raise them again. */
  readonly stateFile?: string;
  /** Real-time interval of the expiry sweep (default 1 s); clock shifts should also call `sweep()`. */
  readonly sweepIntervalMs?: number;
  /** Where sweep failures are reported; they never propagate into the key operation that triggered them. */
  readonly log?: (line: string) => void;
}

/**
 * Raises the Key Vault events a vault sends to Event Grid: KeyNewVersionCreated on create/import/rotate,
 * KeyNearExpiry once the current version is within 30 days of `exp`, KeyExpired once it is past `exp`, each
 * once per version, driven by the emulator clock. Data is PascalCase as on the wire.
 */
export class VaultEventSource {
  private readonly raised: Set<string>;
  private timer: NodeJS.Timeout | undefined;
  private readonly resourceId: string;

  constructor(private readonly options: VaultEventSourceOptions) {
    this.resourceId = vaultResourceId(options.vaultName);
    this.raised = new Set(this.load());
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.safeSweep(), this.options.sweepIntervalMs ?? 1_000);
    this.timer.unref();
    this.safeSweep();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Call on every create/import/rotate; also checks the new version's expiry at once. Never throws. */
  onKeyVersionCreated(version: VaultKeyVersion): void {
    try {
      this.options.emit([this.event(KEY_VAULT_EVENT_TYPES.keyNewVersionCreated, version)]);
    } catch (error) {
      this.options.log?.(`eventgrid: vault ${this.options.vaultName}: KeyNewVersionCreated not raised: ${(error as Error).message}`);
    }
    this.safeSweep();
  }

  /** sweep() for timers and event listeners: a failure is logged, never thrown into the caller. */
  safeSweep(): void {
    try {
      this.sweep();
    } catch (error) {
      this.options.log?.(`eventgrid: vault ${this.options.vaultName}: expiry sweep failed: ${(error as Error).message}`);
    }
  }

  /** Raises every due, not yet raised expiry event; returns what it raised. */
  sweep(): EventRecord[] {
    const nowSeconds = Math.floor(this.options.now() / 1000);
    const current = new Map<string, VaultKeyVersion>();
    for (const version of this.options.listKeyVersions()) {
      const seen = current.get(version.name);
      // The current version is the newest; later entries win ties (versions created in the same second).
      if (!seen || version.created >= seen.created) current.set(version.name, version);
    }
    const due: EventRecord[] = [];
    for (const version of current.values()) {
      if (version.exp === undefined) continue;
      const expired = nowSeconds >= version.exp;
      const near = nowSeconds >= version.exp - NEAR_EXPIRY_SECONDS;
      if (near && !expired) this.raiseOnce(due, KEY_VAULT_EVENT_TYPES.keyNearExpiry, version);
      if (expired) this.raiseOnce(due, KEY_VAULT_EVENT_TYPES.keyExpired, version);
    }
    if (due.length > 0) {
      this.save();
      this.options.emit(due);
    }
    return due;
  }

  private raiseOnce(due: EventRecord[], type: string, version: VaultKeyVersion): void {
    const marker = `${type}|${version.name}|${version.version}`;
    if (this.raised.has(marker)) return;
    this.raised.add(marker);
    due.push(this.event(type, version));
  }

  private event(type: string, version: VaultKeyVersion): EventRecord {
    const nowMs = this.options.now();
    const wire = {
      id: randomUUID(),
      topic: this.resourceId,
      subject: version.name,
      eventType: type,
      eventTime: new Date(nowMs).toISOString(),
      data: {
        Id: `${this.options.vaultUrl}/keys/${version.name}/${version.version}`,
        VaultName: this.options.vaultName,
        ObjectType: "Key",
        ObjectName: version.name,
        Version: version.version,
        NBF: version.nbf ?? null,
        EXP: version.exp ?? null,
      },
      dataVersion: "1",
      metadataVersion: "1",
    };
    return { schema: "EventGrid", id: wire.id, type, subject: version.name, wire, publishedAt: nowMs };
  }

  private load(): string[] {
    if (!this.options.stateFile) return [];
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.options.stateFile, "utf8"));
      return Array.isArray(parsed) ? parsed.filter((m): m is string => typeof m === "string") : [];
    } catch {
      return [];
    }
  }

  private save(): void {
    const file = this.options.stateFile;
    if (!file) return;
    mkdirSync(path.dirname(file), { recursive: true });
    // Write-then-rename so a crash never leaves a truncated file that would re-raise every event.
    writeFileSync(`${file}.tmp`, JSON.stringify([...this.raised]));
    renameSync(`${file}.tmp`, file);
  }
}
