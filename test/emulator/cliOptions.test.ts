// The CLI flag contract (parseCli) and atomic persistence, without starting servers.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCli, UsageError } from "../../emulator/options";
import { AtomicJsonFile } from "../../emulator/store/atomicJsonFile";

describe("parseCli", () => {
  it("parses every flag of the contract plus the admin/eventgrid pass-throughs", () => {
    const { command, options } = parseCli([
      "--state-dir", "/tmp/x",
      "--hsm", "primary=0",
      "--hsm", "dr=8443,security-domain=primary,purge-protection=true,retention-days=7",
      "--vault", "v1=0",
      "--topic", "t1=0",
      "--blob", "UseDevelopmentStorage=true",
      "--admin", "oid-1", "--admin", "oid-2",
      "--restore-backup-window-minutes", "45",
      "--subscribe", "v1=https://127.0.0.1:7071/runtime/webhooks/EventGrid?functionName=f,types=Microsoft.KeyVault.KeyNearExpiry;Microsoft.KeyVault.KeyNewVersionCreated",
    ]);
    expect(command).toBe("serve");
    expect(options.stateDir).toBe("/tmp/x");
    expect(options.instances).toEqual([
      { kind: "managedHsm", name: "primary", port: 0 },
      { kind: "managedHsm", name: "dr", port: 8443, securityDomain: "primary", purgeProtection: true, softDeleteRetentionDays: 7 },
      { kind: "vault", name: "v1", port: 0 },
    ]);
    expect(options.topics).toEqual([{ name: "t1", port: 0 }]);
    expect(options.blobConnectionString).toBe("UseDevelopmentStorage=true");
    expect(options.admins).toEqual(["oid-1", "oid-2"]);
    expect(options.restoreBackupWindowMinutes).toBe(45);
    expect(options.subscriptions).toEqual([
      { source: "v1", url: "https://127.0.0.1:7071/runtime/webhooks/EventGrid?functionName=f", types: ["Microsoft.KeyVault.KeyNearExpiry", "Microsoft.KeyVault.KeyNewVersionCreated"] },
    ]);
  });

  it("parses the token subcommand", () => {
    expect(parseCli(["token", "--state-dir", "d", "--oid", "me", "--audience", "vault"]).token).toEqual({ oid: "me", audience: "https://vault.azure.net" });
    expect(parseCli(["token", "--oid", "me"]).token?.audience).toBe("https://managedhsm.azure.net");
  });

  it.each([
    [["--bogus"], "Unknown argument"],
    [["--hsm", "primary"], "expected NAME=PORT"],
    [["--hsm", "a=0", "--hsm", "a=0"], "used twice"],
    [["--hsm", "dr=0,security-domain=nowhere"], "not an --hsm instance"],
    [["--vault", "v=0,security-domain=x"], "Unknown or invalid instance option"],
    [["--hsm", "a=0,retention-days=3"], "7..90"],
    [["--state-dir"], "needs a value"],
    [["token", "--state-dir", "d"], "token needs --oid"],
  ])("rejects %j with a clear UsageError", (argv, message) => {
    expect(() => parseCli(argv)).toThrow(UsageError);
    expect(() => parseCli(argv)).toThrow(message);
  });
});

describe("AtomicJsonFile", () => {
  it("coalesces concurrent saves, always writes the latest state and leaves no temp files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "atomic-"));
    try {
      let state = { n: 0 };
      const file = new AtomicJsonFile(join(dir, "state.json"), () => state);
      const saves: Promise<void>[] = [];
      for (let i = 1; i <= 50; i++) {
        state = { n: i };
        saves.push(file.save());
      }
      await Promise.all(saves);
      expect(file.read()).toEqual({ n: 50 });
      expect(readdirSync(dir)).toEqual(["state.json"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
