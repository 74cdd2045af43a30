// The command line of `hsm-lifecycle dr download|activate`: what it accepts and every refusal (exit 2).
import { describe, expect, it } from "vitest";
import { parseDrArgs } from "../../cli/drArgs";
import { UsageError } from "../../cli/usageError";

const certs = ["--cert", "a.cer", "--cert", "b.cer", "--cert", "c.cer"];

describe("parseDrArgs", () => {
  it("parses download and activate", () => {
    expect(parseDrArgs(["download", "--hsm", "primary", ...certs, "--quorum", "2", "--out", "sd.json", "--timeout", "30", "--json"])).toMatchObject({
      action: "download",
      hsm: "primary",
      certs: ["a.cer", "b.cer", "c.cer"],
      quorum: 2,
      out: "sd.json",
      timeoutMs: 30_000,
      json: true,
    });
    expect(parseDrArgs(["activate", "--hsm", "drnew", "--security-domain", "sd.json", "--key", "k1.pem", "--key", "k2.pem", "--credential", "default"])).toMatchObject({
      action: "activate",
      hsm: "drnew",
      securityDomain: "sd.json",
      keys: ["k1.pem", "k2.pem"],
    });
    expect(parseDrArgs(["--help"]).action).toBe("help");
  });

  it.each([
    [[], 'needs "download" or "activate", not nothing'],
    [["upload"], 'not "upload"'],
    [["download", "extra"], 'Unexpected argument "extra"'],
    [["download", "--hsm", "p", "--cert", "a", "--cert", "b", "--quorum", "2", "--out", "f"], "needs 3 to 10 --cert files (one per custodian); 2 given"],
    [["download", "--hsm", "p", ...certs, "--quorum", "1", "--out", "f"], '--quorum must be a whole number from 2 to 10 (custodians needed to recover), not "1"'],
    [["download", "--hsm", "p", ...certs, "--quorum", "4", "--out", "f"], "--quorum 4 exceeds the 3 certificates"],
    [["download", "--hsm", "p", ...certs, "--quorum", "2"], "needs --out FILE"],
    [["download", "--hsm", "p", ...certs, "--quorum", "2", "--out", "f", "--key", "k"], '"dr download" does not take --key'],
    [["download", ...certs, "--quorum", "2", "--out", "f"], "needs --hsm NAME"],
    [["activate", "--hsm", "d", "--security-domain", "f", "--key", "k1"], "needs at least 2 --key files"],
    [["activate", "--hsm", "d", "--key", "k1", "--key", "k2"], "needs --security-domain FILE"],
    [["activate", "--hsm", "d", "--security-domain", "f", "--key", "k1", "--key", "k2", "--quorum", "2"], '"dr activate" does not take --quorum'],
    [["activate", "--hsm", "d", "--security-domain", "f", "--key", "k1", "--key", "k2", "--credential", "managed-identity"], "need Managed HSM Administrator, which no workflow identity holds"],
    [["activate", "--bogus"], "Unknown option '--bogus'"],
  ])("refuses %j", (argv, message) => {
    expect(() => parseDrArgs(argv)).toThrow(UsageError);
    expect(() => parseDrArgs(argv)).toThrow(message);
  });
});
