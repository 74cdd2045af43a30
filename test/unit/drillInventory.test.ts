import { describe, expect, it } from "vitest";
import type { ManifestKey } from "../../shared/backup/backupManifest";
import { chooseProbeSample } from "../../shared/drill/chooseProbeSample";
import { compareInventory, type ObservedKey } from "../../shared/drill/compareInventory";
import { SingleKeyGetBudget } from "../../shared/drill/singleKeyGetBudget";

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
const key = (name: string, kty: string | null, versions: ManifestKey["versions"]): ManifestKey => ({ name, kty, managed: false, versions });
const seen = (k: ManifestKey): ObservedKey => ({ name: k.name, versions: k.versions.map((x) => ({ version: x.version, enabled: x.enabled, notBefore: x.notBefore, expiresOn: x.expiresOn, tags: { ...x.tags } })) });

const manifestKeys = [
  key("signer", "RSA-HSM", [v("v1", { tags: { owner: "secret-team" } }), v("v2", { expiresOn: "2027-01-01T00:00:00.000Z" })]),
  key("aes", "oct-HSM", [v("a1")]),
];

describe("compareInventory", () => {
  it("equal inventories have no problems (instants compared as instants)", () => {
    const observed = manifestKeys.map(seen);
    observed[0]!.versions[1]!.expiresOn = "2027-01-01T00:00:00Z";
    const r = compareInventory(manifestKeys, observed);
    expect(r).toEqual({ keysExpected: 2, keysFound: 2, versionsExpected: 3, versionsFound: 3, problems: [] });
  });

  it("names every difference, tag names but never tag values", () => {
    const observed = manifestKeys.map(seen);
    observed[0]!.versions[0]!.tags = { owner: "someone-else" };
    observed[0]!.versions[0]!.enabled = false;
    observed[0]!.versions[1]!.expiresOn = null;
    observed[0]!.versions.push({ version: "v3", enabled: true, notBefore: null, expiresOn: null, tags: {} });
    observed.pop();
    observed.push({ name: "dr-only", versions: [] });
    const r = compareInventory(manifestKeys, observed);
    expect(r.problems).toEqual([
      "signer/v1: enabled true expected, found false.",
      "signer/v1: tags differ (owner).",
      "signer/v2: expiresOn 2027-01-01T00:00:00.000Z expected, found none.",
      "signer/v3: on DR but not in the backup.",
      "aes: missing on DR (1 version expected).",
      "dr-only: on DR but not in the backup (the restore did not replace DR's keys).",
    ]);
    expect(r.problems.join(" ")).not.toContain("secret-team");
    expect(r.problems.join(" ")).not.toContain("someone-else");
  });
});

describe("compareInventory with versions created during the backup job", () => {
  it("neither expects nor rejects them on DR; every other difference still counts", () => {
    const during: ManifestKey = { ...key("signer", "RSA-HSM", [v("v1")]), versionsDuringBackup: ["v2"] };
    const withNew = { name: "signer", versions: [...seen(during).versions, { version: "v2", enabled: true, notBefore: null, expiresOn: null, tags: {} }] };
    expect(compareInventory([during], [seen(during)]).problems).toEqual([]);
    expect(compareInventory([during], [withNew]).problems).toEqual([]);
    expect(compareInventory([during], [withNew, { name: "born-during", versions: [] }], ["born-during"]).problems).toEqual([]);
    expect(compareInventory([during], [{ name: "signer", versions: [] }, { name: "other", versions: [] }], ["born-during"]).problems).toEqual([
      "signer/v1: version missing on DR.",
      "other: on DR but not in the backup (the restore did not replace DR's keys).",
    ]);
  });

  it("versions from the job's start second are checked when present but not required", () => {
    const atStart: ManifestKey = { ...key("k", "RSA-HSM", [v("old"), v("same-second", { enabled: false })]), versionsAtBackupStart: ["same-second"] };
    const onlyOld = { name: "k", versions: seen(atStart).versions.filter((x) => x.version === "old") };
    expect(compareInventory([atStart], [onlyOld])).toMatchObject({ keysExpected: 1, versionsExpected: 1, versionsFound: 1, problems: [] });
    const both = seen(atStart);
    both.versions[1]!.enabled = true;
    expect(compareInventory([atStart], [both]).problems).toEqual(["k/same-second: enabled false expected, found true."]);
    const allNew: ManifestKey = { ...key("n", "RSA-HSM", [v("x")]), versionsAtBackupStart: ["x"] };
    expect(compareInventory([allNew], [])).toMatchObject({ keysExpected: 0, problems: [] });
  });
});

describe("chooseProbeSample", () => {
  const now = new Date("2026-11-23T00:00:00Z");
  const keys = [
    key("rsa-a", "RSA-HSM", [v("1")]),
    key("rsa-b", "RSA-HSM", [v("1")]),
    key("ec-a", "EC-HSM", [v("1"), v("2", { enabled: false })]),
    key("oct-a", "oct-HSM", [v("1", { expiresOn: "2026-11-01T00:00:00Z" })]),
    key("oct-b", "oct-HSM", [v("1")]),
    key("unknown", null, [v("1")]),
  ];

  it("one usable key per family, newest usable version, within the budget", () => {
    const s = chooseProbeSample(keys, now, 25);
    expect(s.targets).toEqual([
      { name: "rsa-a", version: "1", kty: "RSA-HSM", family: "RSA" },
      { name: "ec-a", version: "1", kty: "EC-HSM", family: "EC" },
      { name: "oct-b", version: "1", kty: "oct-HSM", family: "oct" },
    ]);
    expect(s.notProbed).toEqual(["unknown: key type unknown (the backup's GET budget did not reach it)."]);
  });

  it("a small budget still spreads across families and says what was left out", () => {
    const s = chooseProbeSample(keys, now, 5, 2);
    expect(s.targets.map((t) => t.name)).toEqual(["rsa-a", "ec-a"]);
    expect(s.notProbed.filter((n) => /budget \(5\) is spent/.test(n)).map((n) => n.split(" ")[0])).toEqual(["oct-b", "rsa-b"]);
    expect(chooseProbeSample(keys, now, 1).targets).toEqual([]);
  });
});

describe("SingleKeyGetBudget", () => {
  it("counts and refuses before exceeding", () => {
    const b = new SingleKeyGetBudget(3);
    b.take(2, "probe a");
    expect(b.used).toBe(2);
    expect(() => b.take(2, "probe b")).toThrow(/^\[DrillRefused\] probe b needs 2 single-key GETs but only 1 of today's 3 remain/);
    expect(b.used).toBe(2);
    expect(() => new SingleKeyGetBudget(-1)).toThrow(RangeError);
  });
});

/** Versions changed or created around the backup job's start: required, compared and probed only as far as the backup surely holds them. */
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
