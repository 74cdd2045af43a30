import { readFileSync } from "node:fs";
import type { AccessToken, TokenCredential } from "@azure/core-auth";

type Jose = typeof import("jose", { with: { "resolution-mode": "import" } });
// jose is ESM-only; a dynamic import keeps this CommonJS build loading it lazily.
const jose = (): Promise<Jose> => import("jose");

/**
 * The local stack's stand-in for a person's Entra sign-in (`--as OID`): a short-lived token of the local emulator's
 * kind (HS256 with its token secret, `oid`, `tid`, audience from the scope), which the app checks with the same
 * code as an Entra token. Only the CLI's local-stack path builds one (callerHeaders.ts refuses it otherwise); the
 * app accepts such tokens only in emulator mode.
 */
export class LocalStackCredential implements TokenCredential {
  constructor(
    private readonly secretFile: string,
    private readonly oid: string,
    private readonly tenantId: string,
  ) {}

  async getToken(scopes: string | string[]): Promise<AccessToken> {
    const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? "";
    const aud = scope.replace(/\/\.default$/, "").replace(/\/$/, "");
    const secret = Buffer.from(readFileSync(this.secretFile, "utf8").trim(), "utf8");
    const now = Math.floor(Date.now() / 1000);
    const exp = now + 600;
    const { SignJWT } = await jose();
    const token = await new SignJWT({ oid: this.oid, tid: this.tenantId }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setAudience(aud).setIssuedAt(now).setExpirationTime(exp).sign(secret);
    return { token, expiresOnTimestamp: exp * 1000, tokenType: "Bearer" };
  }
}
