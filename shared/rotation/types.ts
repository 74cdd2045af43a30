/**
 * Inputs and outputs of the rotation orchestrations. Plain JSON: they travel through durable
 * history. The sweep's config comes from the `loadRotationConfig` activity and event-started rotations get
 * theirs from the trigger, so no orchestration ever reads settings or files.
 */
import type { RotationInstance } from "./activities/deps";
import type { RotationTrigger } from "../events/lifecycleEventData";
import type { RotationPolicy } from "./policyTypes";

/** The part of a resolved policy rule a single rotation needs. */
export interface RotationRuleSettings {
  name: string;
  newVersionExpiry?: string;
  gracePeriod: string;
}

export interface RotateKeyInput {
  instance: RotationInstance;
  name: string;
  /** The version the instance id names (`rotate:{vault}:{key}:{version}`): rotate only while it is current. */
  version: string;
  trigger: RotationTrigger;
  /** Sweep id or event id: ties the KeyRotated event and the audit trail to what started it. */
  runId: string;
  /** From the sweep's decision. Absent for event-started rotations: then `policy` is required. */
  rule?: RotationRuleSettings;
  /** Event-started rotations decide against the policy with the key's own tags (read from its versions page). */
  policy?: RotationPolicy;
  /**
   * When the listing that named `version` as current was read (ISO, orchestration time): the sweep's. Recent
   * enough (`FRESH_LISTING_MS`), it stands in for a GET before the rotate. Event-started rotations list the key
   * themselves; absent otherwise (the key is then read before it is rotated).
   */
  listedAt?: string;
}

export type RotateKeyOutput =
  | {
      kind: "rotated" | "alreadyRotated";
      instance: string;
      name: string;
      previousVersion: string;
      version: string;
      expiresOn?: string;
      checks: string[];
      /** KeyRotated went out (a failed publish never fails the rotation). */
      published: boolean;
      /** The `retireVersions` instance that disables the old versions after the grace period. */
      retirement: string;
    }
  | { kind: "skipped"; instance: string; name: string; version: string; reason: string }
  | {
      kind: "failed";
      instance: string;
      name: string;
      version: string;
      /** The step that failed. */
      stage: "resolve" | "rotate" | "verify";
      code: string;
      message: string;
      published: boolean;
    };

export interface RetireVersionsInput {
  instance: RotationInstance;
  name: string;
  /** The version the rotation produced: never disabled. */
  currentVersion: string;
  gracePeriod: string;
  /**
   * The first pass waits until then (the new version's creation + grace period): before it nothing the
   * rotation superseded can be due, so an immediate pass would only spend an HSM listing.
   */
  firstPassAt?: string;
}

export interface RetireVersionsOutput {
  disabled: string[];
  kept: number;
  passes: number;
  /** Set when the pass limit was reached with versions still in grace (a later rotation retires them). */
  stoppedEarly?: boolean;
}

export interface RecordKeyVersionInput {
  instance: RotationInstance;
  name: string;
  version: string;
  runId: string;
}

export interface RecordKeyVersionOutput {
  kind: "recorded";
  name: string;
  version: string;
  verification: "verified" | "failed";
  reason?: string;
  isCurrent: boolean;
  published: boolean;
}

/** One key of a batch, as the sweep hands it on. */
export interface BatchKey {
  instanceId: string;
  input: RotateKeyInput;
}

export interface RotationBatchInput {
  keys: BatchKey[];
}

export interface RotationBatchOutput {
  started: number;
  /** Ids that already ran or are running (an event or an earlier sweep got there first). */
  alreadyHandled: string[];
  outcomes: Partial<Record<RotateKeyOutput["kind"], number>>;
  failures: { instanceId: string; stage: string; code: string; message: string }[];
}

export interface RotationSweepInput {
  trigger: RotationTrigger;
  /** ISO instant the timer was scheduled for (informational). */
  scheduledFor?: string;
}

export interface RotationConfig {
  instances: RotationInstance[];
  policy: RotationPolicy;
  batchSize: number;
}

export interface RotationSweepOutput {
  runId: string;
  at: string;
  instances: { name: string; listed: number; due: number; notices: number; noticesPublished: number; skipped: Record<string, number>; requests: number }[];
  batches: number;
  started: number;
  alreadyHandled: number;
  outcomes: Partial<Record<RotateKeyOutput["kind"], number>>;
  /** Per key (instanceId: the rotation's durable id) and per HSM/vault (stage "list" or "notices", instanceId: its name). */
  failures: RotationBatchOutput["failures"];
}
