import type { VersionFacts } from "./keyFacts";

/**
 * What the rotation remembers of one key between rotations, so the next rotation needs no GET: the current
 * version as the service returned it (public key, key_ops, state), which becomes the next rotation's "previous
 * version" to exercise, and the rotation that made it (lineage, for whoever reads the container).
 * Every member is a fact about `current.version` that stays true: a record naming an older version than the
 * key's current one is merely not used, so records are written without conditions.
 */
export interface KeyVersionRecord {
  /** The version the rotation last saw as the key's current one: created by its rotate, or read by a GET. */
  current: VersionFacts;
  /** The version the rotation moved the key on from, when `current` is the version that rotation created. */
  rotatedFrom?: string;
}

/** A record as read: absent, authenticated, or refused (`problem`: it is then not used). */
export type ReadKeyVersionRecord = { record?: KeyVersionRecord; problem?: string };

/**
 * Where the records live: one per key and instance. A record that fails its authentication is returned as a
 * `problem`, never as a record: the caller then reads the key from the service as if nothing were recorded.
 */
export interface KeyVersionRecords {
  read(instance: string, name: string): Promise<ReadKeyVersionRecord>;
  write(instance: string, name: string, record: KeyVersionRecord): Promise<void>;
  /**
   * Claims the one rotate of `fromVersion` (create-only marker): `true` for the first claim, `false` when an
   * earlier attempt claimed it (its rotate may have happened: the caller then reads the key before rotating).
   */
  claimRotate(instance: string, name: string, fromVersion: string): Promise<boolean>;
}
