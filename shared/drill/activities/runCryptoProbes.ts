import { createHash, randomBytes } from "node:crypto";
import { fromRestError, isRestErrorLike } from "../../errors/fromRestError";
import { chooseProbeSample, familyOf, GETS_PER_PROBE, type ProbeTarget } from "../chooseProbeSample";
import type { DrillCheck } from "../drillReport";
import { SENTINEL_DAILY_GET_LIMIT, SingleKeyGetBudget } from "../singleKeyGetBudget";
import type { CryptographyClient, KeyVaultKey } from "../../hsm/keyClients";
import type { DrillDeps } from "./deps";
import { drillNow } from "./deps";
import { drillManifestFor } from "./manifestFor";
import { guardDrillTarget } from "./targetGuard";

export interface RunCryptoProbesInput {
  primary: string;
  target: string;
  folder: string;
  /** Single-key GETs this drill may still spend today (default 25, Sentinel's threshold). Each probe costs 2. */
  getBudget?: number;
  /** Keys to probe per key family (RSA, EC, oct); default 1. */
  perFamily?: number;
  /** Selective drill: probe only this key. */
  keyName?: string;
}

export interface RunCryptoProbesOutput {
  checks: DrillCheck[];
  /** Single-key GETs actually made (KeyGet on primary + DR). */
  singleKeyGets: number;
  finishedAt: string;
}

/**
 * Activity `runCryptoProbes`: proves DR holds the primary's key material, per key family, on a sample that fits
 * the single-key GET budget. RSA/EC: sign on primary → verify on DR, and sign on DR → verify on primary. RSA:
 * wrap on primary → unwrap on DR, and the reverse. oct-HSM: encrypt/decrypt (or wrap/unwrap) both ways.
 * Probe data is random and never reported; only names and outcomes are.
 */
export async function runCryptoProbes(input: RunCryptoProbesInput, deps: DrillDeps): Promise<RunCryptoProbesOutput> {
  const { primaryUrl, targetUrl } = guardDrillTarget(deps, input);
  const budget = new SingleKeyGetBudget(input.getBudget ?? SENTINEL_DAILY_GET_LIMIT);
  const manifest = await drillManifestFor(deps, input.primary, input.folder);
  const keys = input.keyName === undefined ? manifest.keys : manifest.keys.filter((k) => k.name === input.keyName);
  const sample = chooseProbeSample(keys, drillNow(deps), budget.limit, input.perFamily ?? 1);
  const checks: DrillCheck[] = [];
  let probed = 0;
  for (const t of sample.targets) {
    budget.take(GETS_PER_PROBE, `Probing ${t.name}`);
    if (deps.getLedger !== undefined) {
      const r = await deps.getLedger.reserve(GETS_PER_PROBE, drillNow(deps));
      if (!r.granted) {
        sample.notProbed.push(`${t.name} (${t.family}): not probed, the identity's single-key GETs today (${r.usedToday} of ${r.limit}) leave no room.`);
        continue;
      }
    }
    probed++;
    checks.push(await probeKey(t, primaryUrl, targetUrl, deps));
  }
  if (probed === 0) {
    checks.push({ name: "cryptoProbes", passed: false, detail: "No key could be probed, so nothing proves DR holds the primary's key material.", problems: sample.notProbed });
  } else if (sample.notProbed.length > 0) {
    checks.push({ name: "cryptoProbeCoverage", passed: true, detail: `${probed} key(s) probed; some were not.`, problems: sample.notProbed });
  }
  return { checks, singleKeyGets: probed * GETS_PER_PROBE, finishedAt: drillNow(deps).toISOString() };
}

async function probeKey(t: ProbeTarget, primaryUrl: string, targetUrl: string, deps: DrillDeps): Promise<DrillCheck> {
  const name = `cryptoProbe:${t.name}`;
  // One GET per side: it gives key type and key_ops, and lets the SDK run public-key steps locally with the
  // HSM's own public key (what a relying party does); private-key steps always run in the HSM.
  let p: KeyVaultKey;
  let d: KeyVaultKey;
  try {
    p = await deps.keyClients.keys(primaryUrl).getKey(t.name, { version: t.version });
  } catch (e) {
    throw fromRestError(e, { service: "managedHsm", operation: `read ${t.name} on the primary`, resource: `${primaryUrl}/keys/${t.name}`, requiredRole: "HSM Lifecycle Drill Probe" });
  }
  try {
    d = await deps.keyClients.keys(targetUrl).getKey(t.name, { version: t.version });
  } catch (e) {
    if (isRestErrorLike(e) && e.statusCode === 404) return { name, passed: false, detail: `${t.name}/${t.version} is missing on DR.` };
    throw fromRestError(e, { service: "managedHsm", operation: `read ${t.name} on the DR HSM`, resource: `${targetUrl}/keys/${t.name}`, requiredRole: "HSM Lifecycle Drill Probe" });
  }
  const problems: string[] = [];
  if (d.keyType !== p.keyType) problems.push(`key type ${String(d.keyType)} on DR, ${String(p.keyType)} on the primary.`);
  if (familyOf(d.keyType ?? null) !== t.family) problems.push(`key type ${String(d.keyType)} on DR, ${t.kty} in the backup manifest.`);
  if (problems.length > 0) return { name, passed: false, detail: "DR's key does not match.", problems };

  const ops = new Set((p.keyOperations ?? []).map(String));
  const P = deps.keyClients.crypto(p);
  const D = deps.keyClients.crypto(d);
  const done: string[] = [];
  const step = async (label: string, run: () => Promise<boolean>): Promise<void> => {
    try {
      if (await run()) done.push(label);
      else problems.push(`${label}: result did not match.`);
    } catch (e) {
      problems.push(`${label}: ${isRestErrorLike(e) ? `${e.statusCode ?? ""} ${e.code ?? ""}`.trim() : (e as Error).name} ${firstLine((e as Error).message)}`);
    }
  };

  if ((t.family === "RSA" || t.family === "EC") && ops.has("sign") && ops.has("verify")) {
    const alg = signatureAlgorithm(t.family, p.key?.crv);
    const digest = createHash(alg.hash).update(randomBytes(32)).digest();
    await step("sign on primary → verify on DR", async () => (await D.verify(alg.name, digest, (await P.sign(alg.name, digest)).result)).result);
    await step("sign on DR → verify on primary", async () => (await P.verify(alg.name, digest, (await D.sign(alg.name, digest)).result)).result);
  }
  if (t.family === "RSA" && ops.has("wrapKey") && ops.has("unwrapKey")) {
    const cek = randomBytes(32);
    await step("wrap on primary → unwrap on DR", async () => Buffer.from((await D.unwrapKey("RSA-OAEP-256", (await P.wrapKey("RSA-OAEP-256", cek)).result)).result).equals(cek));
    await step("wrap on DR → unwrap on primary", async () => Buffer.from((await P.unwrapKey("RSA-OAEP-256", (await D.wrapKey("RSA-OAEP-256", cek)).result)).result).equals(cek));
  }
  if (t.family === "RSA" && done.length === 0 && problems.length === 0 && ops.has("encrypt") && ops.has("decrypt")) {
    // An encryption-only RSA key: the same proof through encrypt/decrypt.
    const plaintext = randomBytes(32);
    await step("encrypt on primary → decrypt on DR", async () => Buffer.from((await D.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: (await P.encrypt({ algorithm: "RSA-OAEP-256", plaintext })).result })).result).equals(plaintext));
    await step("encrypt on DR → decrypt on primary", async () => Buffer.from((await P.decrypt({ algorithm: "RSA-OAEP-256", ciphertext: (await D.encrypt({ algorithm: "RSA-OAEP-256", plaintext })).result })).result).equals(plaintext));
  }
  if (t.family === "oct" && ops.has("encrypt") && ops.has("decrypt")) {
    const plaintext = randomBytes(48);
    await step("encrypt on primary → decrypt on DR", () => gcmRoundTrip(P, D, plaintext));
    await step("encrypt on DR → decrypt on primary", () => gcmRoundTrip(D, P, plaintext));
  }
  if (t.family === "oct" && ops.has("wrapKey") && ops.has("unwrapKey")) {
    const cek = randomBytes(32);
    await step("wrap on primary → unwrap on DR", () => kwRoundTrip(P, D, cek));
    await step("wrap on DR → unwrap on primary", () => kwRoundTrip(D, P, cek));
  }
  if (done.length === 0 && problems.length === 0) {
    return { name, passed: false, detail: `${t.name} (${t.kty}) allows no probe operation (key_ops: ${[...ops].join(", ") || "none"}).` };
  }
  return { name, passed: problems.length === 0, detail: `${t.name}/${t.version} (${t.kty}): ${done.length} of ${done.length + problems.length} cross-HSM probes passed${done.length > 0 ? ` (${done.join("; ")})` : ""}.`, problems };
}

type SignatureAlgorithm = "PS256" | "ES256" | "ES384" | "ES512" | "ES256K";

function signatureAlgorithm(family: "RSA" | "EC", crv: string | undefined): { name: SignatureAlgorithm; hash: "sha256" | "sha384" | "sha512" } {
  if (family === "RSA") return { name: "PS256", hash: "sha256" };
  if (crv === "P-384") return { name: "ES384", hash: "sha384" };
  if (crv === "P-521") return { name: "ES512", hash: "sha512" };
  if (crv === "P-256K") return { name: "ES256K", hash: "sha256" };
  return { name: "ES256", hash: "sha256" };
}

/** The oct-HSM key size is not in the key bundle: try AES-256 first, then the smaller sizes the service refuses with 400. */
const gcmAlgorithms = ["A256GCM", "A128GCM", "A192GCM"] as const;
const kwAlgorithms = ["A256KW", "A128KW", "A192KW"] as const;

async function gcmRoundTrip(from: CryptographyClient, to: CryptographyClient, plaintext: Buffer): Promise<boolean> {
  return withSizeFallback(gcmAlgorithms, async (algorithm) => {
    const enc = await from.encrypt({ algorithm, plaintext });
    if (enc.iv === undefined || enc.authenticationTag === undefined) return false;
    const dec = await to.decrypt({ algorithm, ciphertext: enc.result, iv: enc.iv, authenticationTag: enc.authenticationTag });
    return Buffer.from(dec.result).equals(plaintext);
  });
}

async function kwRoundTrip(from: CryptographyClient, to: CryptographyClient, cek: Buffer): Promise<boolean> {
  return withSizeFallback(kwAlgorithms, async (algorithm) => Buffer.from((await to.unwrapKey(algorithm, (await from.wrapKey(algorithm, cek)).result)).result).equals(cek));
}

async function withSizeFallback<A extends string>(algorithms: readonly A[], run: (a: A) => Promise<boolean>): Promise<boolean> {
  let last: unknown;
  for (const a of algorithms) {
    try {
      return await run(a);
    } catch (e) {
      if (!(isRestErrorLike(e) && e.statusCode === 400)) throw e;
      last = e;
    }
  }
  throw last;
}

function firstLine(text: string): string {
  return (text.split("\n")[0] ?? "").slice(0, 200);
}
