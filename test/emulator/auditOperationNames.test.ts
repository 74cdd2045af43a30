/**
 * Every audit operationName the emulator writes is either one Microsoft publishes or listed as unconfirmed (with what
 * it stands for), and the docs that readers act on name each unconfirmed one: the emulator README's differences from
 * Azure, and the Sentinel README for each rule that filters on one.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { registerAdminRoutes } from "../../emulator/admin/adminRoutes";
import { UNCONFIRMED_OPERATION_NAMES } from "../../emulator/auditlog/unconfirmedOperationNames";
import { RouteTable } from "../../emulator/http/routes";
import { registerCryptoRoutes } from "../../emulator/routes/cryptoRoutes";
import { registerKeyRoutes } from "../../emulator/routes/keyRoutes";
import { registerRbacRoutes } from "../../emulator/routes/rbacRoutes";
import { registerSecurityDomainRoutes } from "../../emulator/securitydomain/securityDomainRoutes";

const root = resolve(__dirname, "../..");

/**
 * Microsoft's names: `BackupCreate` from the "Managed HSM logging" sample entry; `Authentication` and the `Key…` rows
 * of the "Azure Key Vault logging" operation names table (Keys tab).
 */
const PUBLISHED = new Set([
  "BackupCreate",
  "Authentication",
  ...["Create", "Get", "Import", "Delete", "Sign", "Verify", "Wrap", "Unwrap", "Encrypt", "Decrypt", "Update", "List", "ListVersions", "Purge", "Backup", "Restore", "Recover", "GetDeleted", "ListDeleted", "Rotate", "RotateIfDue", "RotationPolicyGet", "RotationPolicySet"].map((v) => `Key${v}`),
]);

function emulatorOperationNames(): Set<string> {
  const table = new RouteTable();
  for (const register of [registerKeyRoutes, registerCryptoRoutes, registerRbacRoutes, registerAdminRoutes, registerSecurityDomainRoutes]) register(table);
  return new Set(table.operationNames());
}

describe("audit operation names", () => {
  it("each name the emulator writes is Microsoft's or listed as unconfirmed, and the list holds no other name", () => {
    const written = emulatorOperationNames();
    expect(written.size).toBeGreaterThan(30);
    for (const name of written) expect(PUBLISHED.has(name) || UNCONFIRMED_OPERATION_NAMES.has(name), `${name} is neither published by Microsoft nor listed as unconfirmed`).toBe(true);
    for (const name of UNCONFIRMED_OPERATION_NAMES.keys()) {
      expect(written.has(name), `${name} is listed as unconfirmed but the emulator does not write it`).toBe(true);
      expect(PUBLISHED.has(name), `${name} is both published and listed as unconfirmed`).toBe(false);
    }
    // The restore, security domain and status-poll names are among the unconfirmed ones.
    for (const name of ["Restore", "SelectiveKeyRestore", "BackupStatus", "RestoreStatus", "SecurityDomainDownload", "SecurityDomainUpload"]) expect(UNCONFIRMED_OPERATION_NAMES.has(name), name).toBe(true);
  });

  it("the emulator README's differences from Azure name every unconfirmed name", () => {
    const readme = readFileSync(join(root, "emulator", "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Differences from Azure"));
    for (const name of UNCONFIRMED_OPERATION_NAMES.keys()) expect(section, name).toContain(`\`${name}\``);
  });

  it("the Sentinel README flags each rule that filters on an unconfirmed name, with the names it relies on", () => {
    const readme = readFileSync(join(root, "sentinel", "README.md"), "utf8");
    const start = readme.indexOf("## Operation names Microsoft does not publish");
    expect(start, "sentinel/README.md has the section").toBeGreaterThan(0);
    const section = readme.slice(start, readme.indexOf("\n## ", start + 5));
    const rulesDir = join(root, "sentinel", "rules");
    const flagged: string[] = [];
    for (const file of readdirSync(rulesDir)) {
      const rule = readFileSync(join(rulesDir, file), "utf8");
      const relied = [...UNCONFIRMED_OPERATION_NAMES.keys()].filter((n) => rule.includes(`"${n}"`));
      if (relied.length === 0) continue;
      flagged.push(file);
      const line = section.split("\n").find((l) => l.includes(`\`${file}\``));
      expect(line, `${file} filters on ${relied.join(", ")}`).toBeDefined();
      for (const n of relied) expect(line, `${file}: ${n}`).toContain(n);
    }
    expect(flagged.length).toBeGreaterThan(0);
  });
});
