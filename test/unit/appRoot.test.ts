import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { appRoot } from "../../shared/app/appRoot";
import { rotationPolicyPath } from "../../shared/rotation/readRotationPolicyFile";

describe("appRoot", () => {
  it("is the folder with the app's package.json, whatever the current directory", () => {
    const repo = resolve(__dirname, "../..");
    const before = process.cwd();
    process.chdir(mkdtempSync(join(tmpdir(), "approot-")));
    try {
      expect(appRoot()).toBe(repo);
      expect(rotationPolicyPath("rotation-policy.json")).toBe(join(repo, "rotation-policy.json"));
      expect(rotationPolicyPath("/etc/policy.json")).toBe("/etc/policy.json");
    } finally {
      process.chdir(before);
    }
  });
});
