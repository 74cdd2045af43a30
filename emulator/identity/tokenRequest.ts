/**
 * Parses one managed-identity token request into the principal and audience of the token to mint. Two
 * protocols, as the platforms speak them:
 *
 * - 2019-08-01 (App Service / Functions, `IDENTITY_ENDPOINT` + `X-IDENTITY-HEADER`): user-assigned identity by
 *   `client_id`, `principal_id` or `object_id`; what MSAL's AppService source and azure-identity's
 *   AppServiceCredential send.
 * - 2017-09-01 (the older App Service protocol, kept by Azure Machine Learning; `MSI_ENDPOINT` + `secret`
 *   header): user-assigned identity by `clientid`; what MSAL's MachineLearning source and azure-identity's
 *   AzureMLCredential send.
 *
 * Only identities REGISTERED when the emulator starts get tokens (`--managed-identity CLIENT_ID`, and the
 * system-assigned one from `--identity-default-oid`): in Azure an app can only obtain tokens for the
 * identities attached to it, so an unknown id gets the platform's 400 instead of a token for whoever asks.
 *
 * Emulated identities: a user-assigned identity's object id (the `oid` claim RBAC checks) EQUALS its client
 * id, so role assignments are made to the client id. Real Entra gives the two different GUIDs; locally
 * there is no directory to look the object id up in, and equality keeps seeding and tokens in step.
 */
export const IDENTITY_API_VERSION = "2019-08-01";
export const LEGACY_IDENTITY_API_VERSION = "2017-09-01";
export type IdentityProtocol = typeof IDENTITY_API_VERSION | typeof LEGACY_IDENTITY_API_VERSION;

/** Audiences a token can be minted for: what the emulator serves, Event Grid, Storage and ARM (for CLIs signing in). */
export const IDENTITY_RESOURCES: readonly string[] = [
  "https://managedhsm.azure.net",
  "https://vault.azure.net",
  "https://eventgrid.azure.net",
  "https://storage.azure.com",
  "https://management.azure.com",
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

export interface RegisteredIdentities {
  /** Client ids (= object ids) of the user-assigned identities attached to the emulated app. */
  userAssigned: ReadonlySet<string>;
  /** oid of the system-assigned identity; none → requests without an id get 400. */
  systemAssigned?: string;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isGuid(text: string): boolean {
  return GUID.test(text);
}

/** The protocol a request speaks, from its api-version; anything else is refused naming both. */
export function protocolOf(query: URLSearchParams): IdentityProtocol {
  const apiVersion = query.get("api-version");
  if (apiVersion === IDENTITY_API_VERSION || apiVersion === LEGACY_IDENTITY_API_VERSION) return apiVersion;
  throw new IdentityRequestError(
    400,
    "BadRequest",
    `api-version must be ${IDENTITY_API_VERSION} (IDENTITY_ENDPOINT + X-IDENTITY-HEADER) or ${LEGACY_IDENTITY_API_VERSION} (MSI_ENDPOINT + secret header); got ${apiVersion === null ? "none" : `"${apiVersion}"`}.`,
  );
}

export function parseTokenRequest(query: URLSearchParams, identities: RegisteredIdentities): TokenRequest {
  const protocol = protocolOf(query);
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
  // 2017-09-01 names the user-assigned identity `clientid`; 2019-08-01 `client_id` / `principal_id` / `object_id`.
  const chosen = protocol === LEGACY_IDENTITY_API_VERSION ? query.get("clientid") : (query.get("client_id") ?? query.get("principal_id") ?? query.get("object_id"));
  if (chosen !== null && chosen !== "") {
    if (!GUID.test(chosen)) {
      throw new IdentityRequestError(400, "BadRequest", `Unable to load the proper Managed Identity: "${chosen}" is not a GUID. Pass the identity's client id.`);
    }
    const id = chosen.toLowerCase();
    const registered = identities.userAssigned.has(id) || identities.systemAssigned?.toLowerCase() === id;
    if (!registered) {
      throw new IdentityRequestError(
        400,
        "BadRequest",
        `Unable to load the proper Managed Identity: ${id} is not an identity of this app. Start the emulator with --managed-identity ${id} to attach it.`,
      );
    }
    return { oid: id, aud, resource, clientId: id };
  }
  if (identities.systemAssigned === undefined) {
    throw new IdentityRequestError(
      400,
      "BadRequest",
      "Unable to load the system-assigned managed identity: the emulator has none. Pass client_id of a user-assigned identity, or start the emulator with --identity-default-oid OID.",
    );
  }
  return { oid: identities.systemAssigned, aud, resource, clientId: identities.systemAssigned };
}
