import { describe, expect, it } from "vitest";
import {
  BACKUP_MANIFEST_SCHEMA,
  computeManifestDigest,
  folderOfManifestBlob,
  manifestBlobName,
  parseBackupManifest,
  sealManifest,
  type UnsealedManifest,
} from "../../shared/backup/backupManifest";
import { canonicalJson } from "../../shared/backup/canonicalJson";
import { compareBlobInventory } from "../../shared/backup/compareBlobInventory";
import { backupFolderParts } from "../../shared/backup/backupFolderParts";
import { LifecycleError } from "../../shared/errors";
import { manifestAuthenticator } from "../../shared/backup/manifestAuthenticator";
import { manifestMac, manifestProblem } from "../../shared/backup/manifestTrust";

const unsealed = (): UnsealedManifest => ({
  schema: BACKUP_MANIFEST_SCHEMA,
  schemaVersion: 1,
  hsm: { name: "primary", url: "https://primary.managedhsm.azure.net" },
  backup: {
    folder: "mhsm-primary-2026112302000000",
    folderUrl: "https://acct.blob.core.windows.net/hsm-backups/mhsm-primary-2026112302000000",
    containerUrl: "https://acct.blob.core.windows.net/hsm-backups",
    jobId: "abc123",
    startTime: "2026-11-23T02:00:00.000Z",
    endTime: "2026-11-23T02:03:00.000Z",
  },
  keys: [
    { name: "zeta", kty: "RSA-HSM", managed: false, versions: [{ version: "v2", enabled: true, createdOn: "2026-02-01T00:00:00.000Z", updatedOn: null, notBefore: null, expiresOn: null, tags: { b: "2", a: "1" } }] },
    { name: "alpha", kty: null, managed: false, versions: [] },
  ],
  blobs: [
    { name: "mhsm-primary-2026112302000000/rbac", size: 10, sha256: "bb" },
    { name: "mhsm-primary-2026112302000000/keys/alpha", size: 5, sha256: "aa" },
  ],
  createdAt: "2026-11-23T02:04:00.000Z",
});

describe("backup manifest", () => {
  it("canonical JSON sorts keys at every depth, drops undefined and has no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: true, x: null }], c: undefined } })).toBe('{"a":{"d":[1,{"x":null,"y":true}]},"b":1}');
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/no JSON form/);
  });

  it("seals with a digest over the canonical content, independent of member and list order", () => {
    const a = sealManifest(unsealed());
    const shuffled = unsealed();
    shuffled.keys.reverse();
    shuffled.blobs.reverse();
    const b = sealManifest(Object.fromEntries(Object.entries(shuffled).reverse()) as unknown as UnsealedManifest);
    expect(a.digest).toEqual(b.digest);
    expect(a.digest.value).toMatch(/^[0-9a-f]{64}$/);
    expect(a.keys.map((k) => k.name)).toEqual(["alpha", "zeta"]);
    expect(a.blobs.map((x) => x.name)).toEqual(["mhsm-primary-2026112302000000/keys/alpha", "mhsm-primary-2026112302000000/rbac"]);
    expect(computeManifestDigest(a)).toBe(a.digest.value);
  });

  it("parses a stored manifest and rejects one changed after sealing, naming the manifest", () => {
    const sealed = sealManifest(unsealed());
    const text = JSON.stringify(sealed, null, 2);
    expect(parseBackupManifest(text, "manifests/x.json")).toEqual(sealed);

    const tampered = JSON.parse(text) as typeof sealed;
    tampered.blobs[0]!.sha256 = "cc";
    const error = (() => {
      try {
        parseBackupManifest(JSON.stringify(tampered), "manifests/x.json");
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(LifecycleError);
    expect((error as LifecycleError).code).toBe("BackupIntegrityFailed");
    expect((error as LifecycleError).message).toMatch(/manifests\/x\.json was modified after it was written/);
    expect(() => parseBackupManifest("{", "m")).toThrow(/\[BackupIntegrityFailed\] The manifest m is not valid JSON/);
    expect(() => parseBackupManifest(JSON.stringify({ ...sealed, schemaVersion: 3 }), "m")).toThrow(/schemaVersion 3; this app reads versions 1 and 2/);
    expect(() => parseBackupManifest(JSON.stringify({ hello: 1 }), "m")).toThrow(/not a backup manifest/);
  });

  it("reads v1 manifests (no policies, no role assignments) and v2 ones, whose role assignments are sealed in order", () => {
    // v1: written before rotation policies and role assignments were recorded; the drill falls back to the primary.
    const v1 = sealManifest(unsealed());
    expect(parseBackupManifest(JSON.stringify(v1), "v1")).toMatchObject({ schemaVersion: 1 });
    expect(parseBackupManifest(JSON.stringify(v1), "v1").roleAssignments).toBeUndefined();

    const v2 = sealManifest({
      ...unsealed(),
      schemaVersion: 2,
      keys: [{ name: "k", kty: "RSA-HSM", managed: false, versions: [], versionsDuringBackup: ["v9"], rotationPolicy: { lifetimeActions: [{ action: "Rotate", timeAfterCreate: "P90D", timeBeforeExpiry: null }], expiresIn: "P1Y" } }],
      keysDuringBackup: ["new"],
      roleAssignments: [
        { scope: "/keys", roleDefinitionId: "r2", principalId: "p" },
        { scope: "/", roleDefinitionId: "r1", principalId: "p" },
      ],
    });
    expect(v2.roleAssignments!.map((a) => a.scope)).toEqual(["/", "/keys"]);
    const parsed = parseBackupManifest(JSON.stringify(v2), "v2");
    expect(parsed).toEqual(v2);
    // The new members are under the digest: changing a recorded policy is detected.
    const altered = JSON.parse(JSON.stringify(v2)) as typeof v2;
    altered.keys[0]!.rotationPolicy = "none";
    expect(() => parseBackupManifest(JSON.stringify(altered), "v2")).toThrow(/modified after it was written/);
  });

  it("the markers of what changed during the job are authenticated content: altering one breaks the digest, re-sealing breaks the MAC", () => {
    const auth = manifestAuthenticator(Buffer.alloc(32, 7).toString("base64"));
    const base = unsealed();
    const zeta = { ...base.keys[0]!, versionsDuringBackup: ["v3"], versionsAtBackupStart: ["v2"], versionsChangedDuringBackup: ["v2"], rotationPolicyChangedDuringBackup: true };
    const sealed = sealManifest({ ...base, schemaVersion: 2, keys: [zeta, base.keys[1]!], keysDuringBackup: ["born"] });
    const signed = { ...sealed, digest: { ...sealed.digest, mac: manifestMac(auth, sealed.digest.value) } };
    const where = "https://acct.blob.core.windows.net/hsm-backups/manifests/mhsm-primary-2026112302000000.json";
    expect(manifestProblem(parseBackupManifest(JSON.stringify(signed), where), auth, signed.backup.containerUrl)).toBeUndefined();
    const edits: Array<(m: any) => void> = [
      (m) => (m.keys.find((k: { name: string }) => k.name === "zeta").versionsDuringBackup = []),
      (m) => (m.keys.find((k: { name: string }) => k.name === "zeta").versionsAtBackupStart = []),
      (m) => delete m.keys.find((k: { name: string }) => k.name === "zeta").versionsChangedDuringBackup,
      (m) => (m.keys.find((k: { name: string }) => k.name === "zeta").rotationPolicyChangedDuringBackup = false),
      (m) => (m.keysDuringBackup = []),
    ];
    for (const edit of edits) {
      const altered = JSON.parse(JSON.stringify(signed));
      edit(altered);
      expect(() => parseBackupManifest(JSON.stringify(altered), where)).toThrow(/modified after it was written/);
      // Whoever can write the blob can recompute the digest, but not the MAC.
      const { digest: _d, ...content } = altered;
      const resealed = { ...sealManifest(content), digest: { ...sealManifest(content).digest, mac: signed.digest.mac } };
      expect(manifestProblem(parseBackupManifest(JSON.stringify(resealed), where), auth, signed.backup.containerUrl)).toMatch(/MAC does not match/);
    }
  });

  it("places the manifest outside the backup folder and maps it back", () => {
    expect(manifestBlobName("mhsm-primary-2026112302000000")).toBe("manifests/mhsm-primary-2026112302000000.json");
    expect(folderOfManifestBlob("manifests/mhsm-primary-2026112302000000.json")).toBe("mhsm-primary-2026112302000000");
    expect(folderOfManifestBlob("mhsm-primary-2026112302000000/manifest")).toBeUndefined();
    expect(folderOfManifestBlob("manifests/a/b.json")).toBeUndefined();
  });

  it("splits a folder URL and drops any SAS", () => {
    expect(backupFolderParts("https://acct.blob.core.windows.net/c/mhsm-x-1?sv=1&sig=secret")).toEqual({
      containerUrl: "https://acct.blob.core.windows.net/c",
      folder: "mhsm-x-1",
      folderUrl: "https://acct.blob.core.windows.net/c/mhsm-x-1",
    });
    expect(() => backupFolderParts("not a url")).toThrow(/\[BadParameter\].*not a backup folder URL/);
  });
});

describe("compareBlobInventory", () => {
  const recorded = [
    { name: "f/keys/a", size: 3, sha256: "11" },
    { name: "f/keys/b", size: 3, sha256: "22" },
    { name: "f/rbac", size: 4, sha256: "33" },
  ];

  it("finds nothing when the folder matches", () => {
    expect(compareBlobInventory(recorded, [...recorded].reverse())).toEqual([]);
  });

  it("names every missing, changed, resized and unexpected blob", () => {
    const now = [
      { name: "f/keys/a", size: 3, sha256: "99" },
      { name: "f/rbac", size: 5, sha256: "33" },
      { name: "f/extra", size: 1, sha256: "44" },
    ];
    expect(compareBlobInventory(recorded, now)).toEqual([
      { blob: "f/extra", problem: "unexpected", detail: "blob 'f/extra' is not in the manifest" },
      { blob: "f/keys/a", problem: "contentChanged", detail: "blob 'f/keys/a' does not match its SHA-256 in the manifest (content changed)" },
      { blob: "f/keys/b", problem: "missing", detail: "blob 'f/keys/b' is missing" },
      { blob: "f/rbac", problem: "sizeChanged", detail: "blob 'f/rbac' has 5 bytes, the manifest recorded 4" },
    ]);
  });
});
