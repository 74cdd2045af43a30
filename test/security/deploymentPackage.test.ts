/**
 * The deployment package carries the app and nothing else. The attack: a developer's local.settings.json (with a
 * connection string in it) and every devDependency sit in the folder that is packaged; neither may reach Azure.
 * `npm run package`'s code is run on a copy of the repository with such a file planted, then the zip is listed and
 * unpacked, and the unpacked app's functions load with nothing but the packaged production dependencies.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { open as openZip, type Entry } from "yauzl";
import { packageApp, type PackageResult } from "../../scripts/packageApp";

const repo = resolve(__dirname, "../..");
const PLANTED_SECRET = "AccountKey=planted-secret-never-shipped==";
let work: string;
let result: PackageResult;
let names: string[];

function listZip(path: string): Promise<string[]> {
  return new Promise((resolveList, reject) => {
    openZip(path, { lazyEntries: true }, (err, zip) => {
      if (err || zip === undefined) return reject(err ?? new Error("no zip"));
      const out: string[] = [];
      zip.on("entry", (e: Entry) => {
        out.push(e.fileName);
        zip.readEntry();
      });
      zip.on("end", () => resolveList(out));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "hsm-package-"));
  const root = join(work, "repo");
  mkdirSync(root);
  for (const f of ["package.json", "package-lock.json", "host.json", "dist", "node_modules"]) symlinkSync(join(repo, f), join(root, f));
  writeFileSync(join(root, "local.settings.json"), JSON.stringify({ Values: { STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;${PLANTED_SECRET}` } }));
  writeFileSync(join(work, "policy.json"), readFileSync(join(repo, "shared/rotation/rotation-policy.example.json")));
  result = await packageApp({ root, outDir: join(work, "out"), policyFile: join(work, "policy.json") });
  names = await listZip(result.zipPath);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("deployment package (npm run package)", () => {
  it("holds no local.settings.json and none of its secrets", () => {
    expect(names.filter((n) => /(^|\/)local\.settings(\.sample)?\.json$/.test(n))).toEqual([]);
    expect(readFileSync(result.zipPath).includes(Buffer.from("planted-secret-never-shipped"))).toBe(false);
  });

  it(".funcignore keeps local.settings.json and the dev-only folders out of Core Tools publishing too", () => {
    const ignored = readFileSync(join(repo, ".funcignore"), "utf8").split("\n").map((l) => l.trim());
    for (const p of ["local.settings.json", "emulator/", "runner/", "dev/", "test/", "bench/", "dist/test/", "infra/"]) expect(ignored, p).toContain(p);
  });

  it("holds no devDependency: every packaged package is a production one in the lock file", () => {
    const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const devDeps = Object.keys((JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { devDependencies: Record<string, string> }).devDependencies);
    const packaged = new Set(names.filter((n) => n.startsWith("node_modules/") && n.endsWith("/package.json")).map((n) => n.slice(0, -"/package.json".length)).filter((p) => lock.packages[p] !== undefined));
    expect(packaged.size).toBeGreaterThan(10);
    for (const p of packaged) expect(lock.packages[p]?.dev, `${p} is a devDependency`).not.toBe(true);
    for (const d of devDeps) expect(names.some((n) => n.startsWith(`node_modules/${d}/`)), `devDependency ${d} is packaged`).toBe(false);
    for (const d of ["azurite", "typescript", "vitest", "eslint"]) expect(devDeps).toContain(d);
  });

  it("holds exactly the app: compiled functions and shared code, host.json, package.json, the policy, dependencies", () => {
    const top = new Set(names.map((n) => (n.startsWith("dist/") ? n.split("/").slice(0, 2).join("/") : n.split("/")[0])));
    expect([...top].sort()).toEqual(["dist/functions", "dist/shared", "host.json", "node_modules", "package.json", "rotation-policy.json"]);
    for (const f of ["backup", "drill", "remediation", "rotation"]) expect(names).toContain(`dist/functions/${f}.js`);
    expect(names.filter((n) => !n.startsWith("node_modules/") && n.endsWith(".ts"))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(result.stagingDir, "package.json"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(manifest).sort()).toEqual(["dependencies", "description", "engines", "license", "main", "name", "private", "version"]);
    expect(manifest["main"]).toBe("dist/functions/*.js");
    expect(result.bytes).toBeGreaterThan(1_000_000);
  });

  it("the unpacked app loads every function with only its production dependencies", () => {
    const unpacked = join(work, "unpacked");
    mkdirSync(unpacked);
    const unzip = spawnSync(process.execPath, ["-e", `
      const yauzl = require(${JSON.stringify(require.resolve("yauzl"))});
      const fs = require("fs"), path = require("path");
      yauzl.open(process.argv[1], { lazyEntries: true }, (err, zip) => {
        if (err) throw err;
        zip.on("entry", (e) => zip.openReadStream(e, (err2, s) => {
          if (err2) throw err2;
          const to = path.join(process.argv[2], e.fileName);
          fs.mkdirSync(path.dirname(to), { recursive: true });
          s.pipe(fs.createWriteStream(to)).on("close", () => zip.readEntry());
        }));
        zip.readEntry();
      });`, result.zipPath, unpacked], { encoding: "utf8" });
    expect(unzip.status, unzip.stderr).toBe(0);
    // A bare environment and the package as the only module root: a missing production dependency fails here.
    const load = spawnSync(process.execPath, ["-e", 'for (const f of require("fs").readdirSync("dist/functions").filter((f) => f.endsWith(".js"))) require("./dist/functions/" + f); console.log("loaded")'], { cwd: unpacked, env: { PATH: process.env["PATH"] ?? "" }, encoding: "utf8" });
    expect(load.stderr).not.toMatch(/Cannot find module/);
    expect(load.stdout.trim(), load.stderr).toBe("loaded");
  });
});
