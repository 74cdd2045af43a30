/**
 * Who is calling: the authenticated principal behind an HTTP request, never a principal named in its body.
 *
 * - App Service Authentication (Easy Auth) on (`WEBSITE_AUTH_ENABLED=true`, set by the platform): the platform has
 *   validated the caller's token and put the principal into `x-ms-client-principal` (base64 JSON of its claims); the
 *   platform strips that header from incoming requests, so it is trusted only then.
 * - Otherwise a bearer token (`Authorization: Bearer …`) validated here with jose: signature, `exp`/`nbf` (5 min skew),
 *   audience `AUTH_AUDIENCE` and tenant `AUTH_TENANT_ID`. In Azure the keys are Entra ID's (JWKS of the tenant, RS256,
 *   issuer `login.microsoftonline.com/{tenant}/v2.0` or `sts.windows.net/{tenant}/`). Only in emulator mode
 *   (`HSM_EMULATOR=true`, loopback instances) are the keys the local emulator's HS256 token secret
 *   (`AUTH_TOKEN_SECRET_FILE`): the same checks, another key source.
 */
import { readFileSync } from "node:fs";
import { LifecycleError } from "../errors/lifecycleError";
import type { ApprovalSettings } from "./approvalSettings";
import { isGuid, type Principal } from "./principalList";

type Jose = typeof import("jose", { with: { "resolution-mode": "import" } });
// jose is ESM-only; a dynamic import keeps this CommonJS build loading it lazily.
const jose = (): Promise<Jose> => import("jose");

export interface HeaderSource {
  get(name: string): string | null;
}

const OID_CLAIMS = ["oid", "http://schemas.microsoft.com/identity/claims/objectidentifier"];
const CLOCK_SKEW_SECONDS = 300;

let jwks: { tenant: string; keys: ReturnType<Jose["createRemoteJWKSet"]> } | undefined;

function unauthorized(why: string): LifecycleError {
  return new LifecycleError("Unauthorized", `${why} Fix: call with Authorization: Bearer <an Entra token for AUTH_AUDIENCE> (the CLI: --credential default; on the local stack --as OID), or through App Service Authentication.`);
}

export async function authenticateCaller(headers: HeaderSource, settings: ApprovalSettings, emulatorMode: boolean, env: NodeJS.ProcessEnv = process.env): Promise<Principal> {
  if ((env["WEBSITE_AUTH_ENABLED"] ?? "").toLowerCase() === "true") {
    const header = headers.get("x-ms-client-principal");
    if (header !== null) return fromClientPrincipal(header);
  }
  const auth = headers.get("authorization") ?? "";
  const m = /^Bearer\s+([A-Za-z0-9_\-.]+)$/.exec(auth.trim());
  if (m === null) throw unauthorized("The request carries no bearer token (and no App Service Authentication principal).");
  return verifyBearer(m[1] as string, settings, emulatorMode);
}

/** Validates a bearer token and returns its principal; throws `[Unauthorized]` naming what failed (never the token). */
export async function verifyBearer(token: string, settings: ApprovalSettings, emulatorMode: boolean): Promise<Principal> {
  const { audience, tenantId, emulatorSecretFile } = settings.auth;
  if (audience === "" || tenantId === "") throw unauthorized("AUTH_AUDIENCE and AUTH_TENANT_ID are not set, so no token can be validated.");
  const j = await jose();
  let payload: Record<string, unknown>;
  try {
    if (emulatorMode && emulatorSecretFile !== "") {
      const secret = Buffer.from(readFileSync(emulatorSecretFile, "utf8").trim(), "utf8");
      payload = (await j.jwtVerify(token, secret, { algorithms: ["HS256"], audience, requiredClaims: ["exp"], clockTolerance: CLOCK_SKEW_SECONDS })).payload;
    } else {
      if (jwks?.tenant !== tenantId) jwks = { tenant: tenantId, keys: j.createRemoteJWKSet(new URL(`https://login.microsoftonline.com/${tenantId}/discovery/v2.0/keys`)) };
      payload = (
        await j.jwtVerify(token, jwks.keys, {
          algorithms: ["RS256"],
          audience,
          issuer: [`https://login.microsoftonline.com/${tenantId}/v2.0`, `https://sts.windows.net/${tenantId}/`],
          requiredClaims: ["exp"],
          clockTolerance: CLOCK_SKEW_SECONDS,
        })
      ).payload;
    }
  } catch (e) {
    const code = (e as { code?: string }).code ?? "ERR_JWT_INVALID";
    throw unauthorized(`The bearer token was refused (${code}).`);
  }
  if (payload["tid"] !== tenantId) throw unauthorized(`The bearer token is not from tenant AUTH_TENANT_ID (${tenantId}).`);
  const oid = payload["oid"];
  if (typeof oid !== "string" || !isGuid(oid)) throw unauthorized("The bearer token has no oid claim (an object id).");
  const groups = Array.isArray(payload["groups"]) ? payload["groups"].filter((g): g is string => typeof g === "string") : [];
  return { oid: oid.toLowerCase(), groups };
}

function fromClientPrincipal(header: string): Principal {
  let claims: Array<{ typ?: unknown; val?: unknown }>;
  try {
    const parsed = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as { claims?: unknown };
    claims = Array.isArray(parsed.claims) ? (parsed.claims as typeof claims) : [];
  } catch {
    throw unauthorized("x-ms-client-principal is not base64 JSON.");
  }
  const oid = claims.find((c) => typeof c.typ === "string" && OID_CLAIMS.includes(c.typ))?.val;
  if (typeof oid !== "string" || !isGuid(oid)) throw unauthorized("The App Service principal has no object id claim.");
  const groups = claims.filter((c) => c.typ === "groups" && typeof c.val === "string").map((c) => c.val as string);
  return { oid: oid.toLowerCase(), groups };
}
