/**
 * A key as a KeyClient list page gives it (`listPropertiesOfKeys` / `listPropertiesOfKeyVersions` →
 * `KeyProperties`). Dates may be `Date` or ISO text, because activity results cross the durable boundary
 * as JSON. `version` is absent on `listPropertiesOfKeys` pages (their kid is versionless).
 */
export interface KeyListing {
  name: string;
  version?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  createdOn?: Date | string;
  expiresOn?: Date | string;
  /** true for keys backing a Key Vault certificate: they rotate with the certificate, not here. */
  managed?: boolean;
}

/** Milliseconds since the epoch, or undefined for a missing or unparseable date. */
export function toEpochMs(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
