/**
 * `npm run package`: writes dist/hsm-lifecycle.zip, the deployable function app and nothing else: the compiled
 * functions and shared code, production dependencies installed from the lock file (`npm ci --omit=dev` into a
 * staging folder, so no devDependency can ride along), host.json, a package.json without scripts or
 * devDependencies, and the rotation policy when one is given. No emulator, runner, dev stack, CLI, tests, benches or
 * local.settings.json. The staging folder (dist/package) is what azd deploys; the zip is what `az` deploys.
 */
import { execFileSync } from "node:child_process";
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { ZipFile } from "yazl";

export interface PackageOptions {
  /** The repository root (holds package.json, package-lock.json, host.json and the built dist/). */
  root: string;
  /** A rotation policy JSON to ship as rotation-policy.json (ROTATION_POLICY_FILE's default). */
  policyFile?: string;
  /** Where the staging folder and the zip go; default <root>/dist. */
  outDir?: string;
}

export interface PackageResult {
  zipPath: string;
  stagingDir: string;
  bytes: number;
  entries: number;
}

/** The compiled folders the function app needs at run time (functions/ imports only shared/). */
export const PACKAGED_DIST_FOLDERS = ["functions", "shared"] as const;

export async function packageApp(options: PackageOptions): Promise<PackageResult> {
  const root = resolve(options.root);
  const outDir = resolve(options.outDir ?? join(root, "dist"));
  for (const folder of PACKAGED_DIST_FOLDERS) {
    if (!existsSync(join(root, "dist", folder))) throw new Error(`dist/${folder} is missing. Fix: run "npm run build" first (npm run package does).`);
  }
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, unknown>;
  const staging = join(outDir, "package");
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });

  // The lock file decides every production dependency's version; --ignore-scripts: nothing runs at packaging time.
  cpSync(join(root, "package.json"), join(staging, "package.json"), { dereference: true });
  cpSync(join(root, "package-lock.json"), join(staging, "package-lock.json"), { dereference: true });
  execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { cwd: staging, stdio: ["ignore", "ignore", "inherit"] });
  rmSync(join(staging, "package-lock.json"));
  rmSync(join(staging, "node_modules", ".package-lock.json"), { force: true });

  for (const folder of PACKAGED_DIST_FOLDERS) cpSync(join(root, "dist", folder), join(staging, "dist", folder), { recursive: true, dereference: true });
  cpSync(join(root, "host.json"), join(staging, "host.json"), { dereference: true });
  writeFileSync(join(staging, "package.json"), JSON.stringify(deployedManifest(manifest), null, 2) + "\n");
  if (options.policyFile !== undefined) {
    const policy = readFileSync(options.policyFile, "utf8");
    JSON.parse(policy); // a malformed policy fails here, not on the first sweep in Azure
    writeFileSync(join(staging, "rotation-policy.json"), policy);
  }

  const zipPath = join(outDir, "hsm-lifecycle.zip");
  const entries = await writeZip(staging, zipPath);
  return { zipPath, stagingDir: staging, bytes: statSync(zipPath).size, entries };
}

/** package.json as the Functions host needs it: where the functions are, the engine, the dependencies. */
export function deployedManifest(manifest: Record<string, unknown>): Record<string, unknown> {
  const keep = ["name", "version", "private", "description", "license", "main", "engines", "dependencies"];
  return Object.fromEntries(keep.filter((k) => manifest[k] !== undefined).map((k) => [k, manifest[k]]));
}

async function writeZip(dir: string, zipPath: string): Promise<number> {
  const zip = new ZipFile();
  const files = listFiles(dir).sort();
  // A fixed timestamp: the same inputs give the same zip.
  const mtime = new Date("2000-01-01T00:00:00Z");
  for (const file of files) zip.addFile(join(dir, file), file, { mtime, mode: 0o100644 });
  rmSync(zipPath, { force: true });
  await new Promise<void>((resolveDone, reject) => {
    const out = createWriteStream(zipPath);
    out.on("close", () => resolveDone());
    out.on("error", reject);
    zip.outputStream.on("error", reject).pipe(out);
    zip.end();
  });
  return files.length;
}

function listFiles(dir: string, base: string = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return listFiles(full, base);
    // Symlinks (node_modules/.bin) are not followed: the host never runs package bins.
    return e.isFile() ? [relative(base, full).split("\\").join("/")] : [];
  });
}

function parseArgs(argv: string[]): { policyFile?: string } {
  const out: { policyFile?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--policy" && argv[i + 1] !== undefined) out.policyFile = argv[++i];
    else throw new Error(`unknown argument ${JSON.stringify(argv[i])}. Usage: npm run package [-- --policy rotation-policy.json]`);
  }
  return out;
}

if (require.main === module) {
  const root = resolve(__dirname, "../..");
  let args: { policyFile?: string };
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`package: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const policyFile = args.policyFile ?? (existsSync(join(root, "rotation-policy.json")) ? join(root, "rotation-policy.json") : undefined);
  packageApp({ root, ...(policyFile === undefined ? {} : { policyFile }) }).then(
    (r) => {
      if (policyFile === undefined) process.stderr.write("package: no rotation-policy.json at the repository root (or --policy FILE): the package has none; point ROTATION_POLICY_FILE at one before the first sweep.\n");
      process.stdout.write(`${relative(process.cwd(), r.zipPath)}: ${(r.bytes / 1024 / 1024).toFixed(1)} MiB (${r.bytes} bytes, ${r.entries} files)\n`);
    },
    (e) => {
      process.stderr.write(`package: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
