/**
 * EmulatorCredential: a TokenCredential for one principal (oid), minting tokens the emulator accepts.
 * The audience comes from the requested scope (`https://managedhsm.azure.net/.default` → aud
 * `https://managedhsm.azure.net`), so one credential serves HSM and vault clients.
 *
 *   const credential = new EmulatorCredential(readTokenSecret(tokenSecretFile), "my-oid");
 *   new KeyClient(url, credential, { tlsOptions: { ca }, disableChallengeResourceVerification: true });
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import { readTokenSecret, signToken } from "./tokens";

export class EmulatorCredential implements TokenCredential {
  private readonly secret: Buffer;

  /** `secret`: the token-secret contents, or the path of DIR/token-secret. */
  constructor(
    secret: Buffer | string,
    readonly oid: string,
    /** `claims`: appid (the calling application) and upn (a signed-in user), as Entra ID puts them in tokens; the audit log names them. */
    private readonly options: { expiresInSeconds?: number; claims?: { appid?: string; upn?: string } } = {},
  ) {
    this.secret = typeof secret === "string" ? readTokenSecret(secret) : secret;
  }

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const scope = (Array.isArray(scopes) ? scopes[0] : scopes) ?? "https://managedhsm.azure.net/.default";
    const aud = scope.replace(/\/\.default$/, "").replace(/\/$/, "");
    const { token, exp } = await signToken(this.secret, {
      oid: this.oid,
      aud,
      ...(this.options.expiresInSeconds !== undefined ? { expiresInSeconds: this.options.expiresInSeconds } : {}),
      ...(this.options.claims !== undefined ? { extra: { ...this.options.claims } } : {}),
    });
    return { token, expiresOnTimestamp: exp * 1000, tokenType: "Bearer" };
  }
}
