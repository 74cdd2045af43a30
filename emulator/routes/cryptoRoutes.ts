/**
 * Cryptographic operations with the stored private keys (emulator/crypto does the math). The server
 * enforces what the service enforces: enabled, nbf, exp (instance clock) and key_ops, before any crypto.
 * Bad algorithms/inputs come back from emulator/crypto as CryptoInputError → 400 BadParameter.
 */
import { decrypt, encrypt, sign, unwrapKey, verify, wrapKey } from "../crypto/keyOperations";
import { keyVaultErrors } from "../errors";
import type { RequestContext } from "../http/requestContext";
import type { RouteTable } from "../http/routes";
import { kidOf } from "../keys/keyBundle";
import type { StoredKeyVersion } from "../keys/keyModel";

type Op = "sign" | "verify" | "encrypt" | "decrypt" | "wrapKey" | "unwrapKey";

function b64(value: unknown, field: string, required = true): Buffer | undefined {
  if (value === undefined || value === null) {
    if (required) throw keyVaultErrors.badParameter(`'${field}' is required (base64url).`);
    return undefined;
  }
  if (typeof value !== "string" || !/^[A-Za-z0-9_\-+/]*={0,2}$/.test(value)) throw keyVaultErrors.badParameter(`'${field}' must be a base64url string.`);
  return Buffer.from(value, "base64url");
}

function usableVersion(ctx: RequestContext, op: Op): { kid: string; v: StoredKeyVersion } {
  const keyName = ctx.params["name"] ?? "";
  const { key, version: v } = ctx.instance.keys.get(keyName, ctx.params["version"]);
  const kid = kidOf(ctx.baseUrl, key.name, v.version);
  ctx.auditId = kid;
  const now = ctx.instance.clock.nowSeconds();
  if (!v.enabled) throw keyVaultErrors.forbidden(`Operation ${op} is not allowed on a disabled key.`, "KeyDisabled");
  if (v.nbf !== undefined && now < v.nbf) throw keyVaultErrors.forbidden(`Operation ${op} is not allowed: the key is not yet valid (nbf ${new Date(v.nbf * 1000).toISOString()}).`, "KeyNotYetValid");
  if (v.exp !== undefined && now >= v.exp) throw keyVaultErrors.forbidden(`Operation ${op} is not allowed on an expired key (exp ${new Date(v.exp * 1000).toISOString()}).`, "KeyExpired");
  // The service's answer (403 Forbidden, innererror KeyOperationForbidden), not a 400: the request is well formed, the key refuses it.
  if (!v.keyOps.includes(op)) throw keyVaultErrors.forbidden(`Operation ${op} is not permitted on this key.`, "KeyOperationForbidden");
  return { kid, v };
}

function alg(body: Record<string, unknown>): string {
  const a = body["alg"];
  if (typeof a !== "string" || a === "") throw keyVaultErrors.badParameter("'alg' is required.");
  return a;
}

export function registerCryptoRoutes(table: RouteTable): void {
  const add = (segment: string, action: string, operationName: string, run: (ctx: RequestContext, body: Record<string, unknown>) => unknown): void => {
    table.add({
      method: "POST",
      pattern: `/keys/:name/:version/${segment}`,
      operationName,
      handler: (ctx) => {
        ctx.authorize(action, `/keys/${ctx.params["name"] ?? ""}`);
        const body = (ctx.body ?? {}) as Record<string, unknown>;
        return ctx.json(200, run(ctx, body));
      },
    });
  };

  add("sign", "keys/sign/action", "KeySign", (ctx, body) => {
    const { kid, v } = usableVersion(ctx, "sign");
    return { kid, value: sign(v.jwk, alg(body), b64(body["value"], "value") as Buffer).toString("base64url") };
  });
  add("verify", "keys/verify/action", "KeyVerify", (ctx, body) => {
    const { v } = usableVersion(ctx, "verify");
    return { value: verify(v.jwk, alg(body), b64(body["digest"], "digest") as Buffer, b64(body["value"], "value") as Buffer) };
  });
  add("encrypt", "keys/encrypt/action", "KeyEncrypt", (ctx, body) => {
    const { kid, v } = usableVersion(ctx, "encrypt");
    const opts: { iv?: Buffer; aad?: Buffer } = {};
    const iv = b64(body["iv"], "iv", false);
    const aad = b64(body["aad"], "aad", false);
    if (iv) opts.iv = iv;
    if (aad) opts.aad = aad;
    const r = encrypt(v.jwk, alg(body), b64(body["value"], "value") as Buffer, opts);
    const out: Record<string, unknown> = { kid, value: r.result.toString("base64url") };
    if (r.iv) out["iv"] = r.iv.toString("base64url");
    if (r.authenticationTag) out["tag"] = r.authenticationTag.toString("base64url");
    if (aad) out["aad"] = aad.toString("base64url");
    return out;
  });
  add("decrypt", "keys/decrypt/action", "KeyDecrypt", (ctx, body) => {
    const { kid, v } = usableVersion(ctx, "decrypt");
    const opts: { iv?: Buffer; aad?: Buffer; tag?: Buffer } = {};
    const iv = b64(body["iv"], "iv", false);
    const aad = b64(body["aad"], "aad", false);
    const tag = b64(body["tag"], "tag", false);
    if (iv) opts.iv = iv;
    if (aad) opts.aad = aad;
    if (tag) opts.tag = tag;
    return { kid, value: decrypt(v.jwk, alg(body), b64(body["value"], "value") as Buffer, opts).toString("base64url") };
  });
  add("wrapkey", "keys/wrap/action", "KeyWrap", (ctx, body) => {
    const { kid, v } = usableVersion(ctx, "wrapKey");
    return { kid, value: wrapKey(v.jwk, alg(body), b64(body["value"], "value") as Buffer).toString("base64url") };
  });
  add("unwrapkey", "keys/unwrap/action", "KeyUnwrap", (ctx, body) => {
    const { kid, v } = usableVersion(ctx, "unwrapKey");
    return { kid, value: unwrapKey(v.jwk, alg(body), b64(body["value"], "value") as Buffer).toString("base64url") };
  });
}
