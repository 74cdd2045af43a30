import type { VersionFacts } from "./keyFacts";

/**
 * What the rotation remembers of one key between rotations, so the next rotation needs no GET: the current
 * version as the service returned it (public key, key_ops, state), which becomes the next rotation's
 * "previous version" to exercise, and the rotation that made it (for a durable re-run after a crash).
 */
export interface KeyVersionRecord {
  /** The version the rotation last saw as the key's current one: created by its rotate, or read by a GET. */
  current: VersionFacts;
  /** The version the rotation moved the key on from, when `current` is the version that rotation created. */
  rotatedFrom?: string;
  /**
   * A rotate of `current.version` is under way (written just before the rotate, replaced by the record of the
   * new version after it). Still there at the next attempt means the outcome is unknown (a crash between the
   * rotate and the record): that attempt reads the key before rotating.
   */
  rotating?: { from: string; at: string };
}

/** A record as read: absent, authenticated (with the tag for a conditional write), or refused (`problem`). */
export type ReadKeyVersionRecord = { record?: KeyVersionRecord; tag?: string; problem?: string };

/**
 * Where the records live: one per key and instance, written only conditionally (the tag read), so two writers can
 * never overwrite each other unseen. A record that fails its authentication is returned as a `problem`, never as
 * a record: the caller then reads the key from the service as if nothing were recorded.
 */
export interface KeyVersionRecords {
  read(instance: string, name: string): Promise<ReadKeyVersionRecord>;
  /** `tag` absent: create only (fails if one exists). Returns the new tag, or `false` when someone wrote first. */
  write(instance: string, name: string, record: KeyVersionRecord, tag: string | undefined): Promise<{ tag?: string } | false>;
}
