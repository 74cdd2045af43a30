import type { TokenCredential } from "@azure/core-auth";

/** The scope Managed HSM data-plane tokens are issued for. */
export const MANAGED_HSM_SCOPE = "https://managedhsm.azure.net/.default";

/**
 * The object id (`oid` claim) of the identity behind `credential`, read from its own access token: role
 * assignments name principals by object id, which a managed identity's client id is not. Reading our own
 * token's claims is not trusting anyone else's (the HSM verifies the token). The token is never logged or
 * returned. undefined when the token is not a JWT carrying an `oid`.
 */
export async function principalIdOf(credential: TokenCredential, scope: string = MANAGED_HSM_SCOPE): Promise<string | undefined> {
  const token = await credential.getToken(scope);
  const payload = token?.token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const oid = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { oid?: unknown }).oid;
    return typeof oid === "string" && oid !== "" ? oid : undefined;
  } catch {
    return undefined;
  }
}
