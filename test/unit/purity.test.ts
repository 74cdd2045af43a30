import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Orchestrations may import only names, types, errors and the pure rotation logic (ARCHITECTURE.md).
 * This guards that those modules stay free of SDKs, node:*, settings and the clock.
 */
const root = join(__dirname, "..", "..");
const loaders = new Set(["checkRotationPolicy.ts", "readRotationPolicyFile.ts"]);
const pureFiles = [
  "shared/names.ts",
  ...readdirSync(join(root, "shared/errors")).filter((f) => f.endsWith(".ts")).map((f) => `shared/errors/${f}`),
  ...readdirSync(join(root, "shared/rotation"))
    .filter((f) => f.endsWith(".ts") && !loaders.has(f))
    .map((f) => `shared/rotation/${f}`),
];

describe("orchestration-safe modules", () => {
  it.each(pureFiles)("%s imports no SDK, node:*, settings or loader, and never reads the clock or randomness", (file) => {
    const src = readFileSync(join(root, file), "utf8");
    const imports = [...src.matchAll(/^(?:import|export)\b[^;]*?from\s+"([^"]+)";/gms)].map((m) => m[1]!);
    expect(imports.length > 0 || !/^import /m.test(src)).toBe(true);
    for (const spec of imports) {
      expect(spec, `${file} imports ${spec}`).toMatch(/^\.\.?\//);
      expect(spec).not.toMatch(/config|settings|checkRotationPolicy|readRotationPolicyFile/);
    }
    expect(src).not.toMatch(/require\(/);
    expect(src).not.toMatch(/Date\.now\(|Math\.random\(|new Date\(\)|process\.env/);
  });

  it("the rotation index exports no loader", () => {
    const exportLines = readFileSync(join(root, "shared/rotation/index.ts"), "utf8").split("\n").filter((l) => l.startsWith("export"));
    expect(exportLines.length).toBeGreaterThan(5);
    for (const line of exportLines) expect(line).not.toMatch(/checkRotationPolicy|readRotationPolicyFile/);
  });
});
