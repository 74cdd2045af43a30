/**
 * Parses one App Service managed-identity token request (API 2019-08-01, what MSAL's AppService source and
 * therefore `ManagedIdentityCredential` send) into the principal and audience of the token to mint.
 *
 * Emulated identities: a user-assigned identity's object id (the `oid` claim RBAC checks) EQUALS its client
 * id, so role assignments are made to the client id. Real Entra gives the two different GUIDs; locally
 * there is no directory to look the object id up in, and equality keeps seeding and tokens in step.
 * `principal_id`/`object_id` select the identity by object id (same GUID). Without any id the
 * system-assigned identity is used, which exists only when the emulator was given a default oid.
 */
export const IDENTITY_API_VERSION = "2019-08-01";

/** Audiences a token can be minted for: what the emulator serves, plus Event Grid and Storage. */
export const IDENTITY_RESOURCES: readonly string[] = [
  "https://managedhsm.azure.net",
  "https://vault.azure.net",
  "https://eventgrid.azure.net",
  "https://storage.azure.com",
];

export class IdentityRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "IdentityRequestError";
  }
}

export interface TokenRequest {
  oid: string;
  /** The audience claim: the resource without `/.default` or a trailing slash. */
  aud: string;
  /** The resource as the caller spelled it, echoed back in the answer. */
  resource: string;
  /** The client id echoed back (the oid for object-id and system-assigned requests). */
  clientId: string;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function parseTokenRequest(query: URLSearchParams, defaultOid: string | undefined): TokenRequest {
  const apiVersion = query.get("api-version");
  if (apiVersion !== IDENTITY_API_VERSION) {
    throw new IdentityRequestError(400, "BadRequest", `api-version must be ${IDENTITY_API_VERSION} (got ${apiVersion === null ? "none" : `"${apiVersion}"`}).`);
  }
  const resource = query.get("resource");
  if (resource === null || resource.trim() === "") {
    throw new IdentityRequestError(400, "BadRequest", "The resource query parameter is required, e.g. resource=https://managedhsm.azure.net.");
  }
  const aud = resource.trim().replace(/\/\.default$/, "").replace(/\/+$/, "");
  if (!IDENTITY_RESOURCES.includes(aud)) {
    throw new IdentityRequestError(400, "BadRequest", `Resource "${resource}" is not known to the emulated Entra ID. Use one of: ${IDENTITY_RESOURCES.join(", ")}.`);
  }
  if (query.get("mi_res_id") !== null) {
    throw new IdentityRequestError(400, "BadRequest", "Selecting a user-assigned identity by resource id (mi_res_id) is not supported by the emulator; pass client_id instead.");
  }
  const byClientId = query.get("client_id");
  const byObjectId = query.get("principal_id") ?? query.get("object_id");
  const chosen = byClientId ?? byObjectId;
  if (chosen !== null) {
    if (!GUID.test(chosen)) {
      throw new IdentityRequestError(400, "BadRequest", `Unable to load the requested managed identity: "${chosen}" is not a GUID. Pass the identity's client id.`);
    }
    const id = chosen.toLowerCase();
    return { oid: id, aud, resource, clientId: id };
  }
  if (defaultOid === undefined) {
    throw new IdentityRequestError(
      400,
      "BadRequest",
      "Unable to load the system-assigned managed identity: the emulator has none. Pass client_id of a user-assigned identity, or start the emulator with --identity-default-oid OID.",
    );
  }
  return { oid: defaultOid, aud, resource, clientId: defaultOid };
}
