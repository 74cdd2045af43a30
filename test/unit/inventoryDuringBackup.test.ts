/** Versions changed or created around the backup job's start: required, compared and probed only as far as the backup surely holds them. */
import { describe, expect, it } from "vitest";
import type { ManifestKey } from "../../shared/backup/backupManifest";
import { chooseProbeSample } from "../../shared/drill/chooseProbeSample";
import { compareInventory, type ObservedKey } from "../../shared/drill/compareInventory";

const v = (version: string, extra: Partial<ManifestKey["versions"][number]> = {}): ManifestKey["versions"][number] => ({
  version,
  enabled: true,
  createdOn: "2026-11-01T00:00:00.000Z",
  updatedOn: "2026-11-01T00:00:00.000Z",
  notBefore: null,
  expiresOn: null,
  tags: {},
  ...extra,
});

describe("versions changed during the backup job", () => {
  const signer: ManifestKey = { name: "signer", kty: "RSA-HSM", managed: false, versions: [v("v1"), v("v2", { enabled: false })], versionsChangedDuringBackup: ["v2"], versionsAtBackupStart: [] };

  it("must be on DR, but their attributes (which the backup may hold in the earlier state) are not compared", () => {
    const restored: ObservedKey[] = [{ name: "signer", versions: [{ version: "v1", enabled: true, notBefore: null, expiresOn: null, tags: {} }, { version: "v2", enabled: true, notBefore: null, expiresOn: "2027-01-01T00:00:00.000Z", tags: { x: "y" } }] }];
    expect(compareInventory([signer], restored).problems).toEqual([]);
    expect(compareInventory([signer], [{ name: "signer", versions: restored[0]!.versions.slice(0, 1) }]).problems).toEqual(["signer/v2: version missing on DR."]);
  });

  it("are probed only when the key has no version surely in the backup, and then marked unsure", () => {
    const now = new Date("2026-12-01T00:00:00Z");
    const changed: ManifestKey = { ...signer, versions: [v("v1"), v("v2")] };
    expect(chooseProbeSample([changed], now, 25).targets.map((t) => [t.version, t.unsure])).toEqual([["v1", undefined]]);
    const atStart: ManifestKey = { name: "signer", kty: "RSA-HSM", managed: false, versions: [v("v1"), v("v2")], versionsAtBackupStart: ["v2"] };
    expect(chooseProbeSample([atStart], now, 25).targets.map((t) => [t.version, t.unsure])).toEqual([["v1", undefined]]);
    const onlyAtStart: ManifestKey = { ...atStart, versionsAtBackupStart: ["v1", "v2"] };
    expect(chooseProbeSample([onlyAtStart], now, 25).targets.map((t) => [t.version, t.unsure])).toEqual([["v2", true]]);
  });
});
