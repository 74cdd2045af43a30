/**
 * Opens the Blob container an admin job reads or writes, the two ways Managed HSM does it:
 * - SAS (`token`): exactly the caller's SAS is used, so the storage service (Azurite) enforces its
 *   permissions, expiry and signature;
 * - managed identity (`useManagedIdentity: true`): the HSM's own identity — here the emulator's storage
 *   credential from `--blob CONNECTION_STRING` (default: Azurite's development account on 127.0.0.1:10000).
 *
 * `describeStorageFailure` turns storage errors into job statusDetails that name the cause and the fix
 * (the real service's "invalid status 'OK'" is what this avoids).
 */
import { AnonymousCredential, ContainerClient, StorageSharedKeyCredential, type StoragePipelineOptions } from "@azure/storage-blob";

/** Azurite's well-known development account (public; used when no `--blob` is given). */
export const AZURITE_DEV_CONNECTION_STRING =
  "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
  "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
  "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

export interface SasTokenParameters {
  storageResourceUri: string;
  token?: string;
  useManagedIdentity?: boolean;
}

export type BlobAccess = "backup" | "restore";

/** Permissions each job needs on the container (documented: `crdw` to back up, `rl` to restore). */
export const REQUIRED_SAS_PERMISSIONS: Record<BlobAccess, string> = { backup: "crdw", restore: "rl" };

const PERMISSION_NAMES: Record<string, string> = {
  r: "read",
  a: "add",
  c: "create",
  w: "write",
  d: "delete",
  l: "list",
};

// A job should fail in seconds when storage is down, not after the SDK's default ~4 retries with backoff.
const STORAGE_PIPELINE: StoragePipelineOptions = {
  retryOptions: { maxTries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 500, tryTimeoutInMs: 15_000 },
};

export interface OpenedContainer {
  client: ContainerClient;
  /** The container URL without query (what the service reports back). */
  containerUri: string;
  mode: "sas" | "managedIdentity";
  /** Permissions letters of the SAS (`sp`), when a SAS is used. */
  sasPermissions?: string;
}

/** Validates the request's storage parameters; throws Error with a message for a 400 BadParameter. */
export function validateSasTokenParameters(value: unknown, field: string): SasTokenParameters {
  if (typeof value !== "object" || value === null) {
    throw new Error(`${field} is required: {"storageResourceUri":"https://<account>.blob.core.windows.net/<container>","token":"<SAS>"} or with "useManagedIdentity":true.`);
  }
  const params = value as Record<string, unknown>;
  const uri = params["storageResourceUri"];
  if (typeof uri !== "string" || uri === "") {
    throw new Error(`${field}.storageResourceUri is required: the URL of the Blob container.`);
  }
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw new Error(`${field}.storageResourceUri '${uri}' is not an absolute URL; pass the container URL, e.g. https://<account>.blob.core.windows.net/<container>.`);
  }
  if (parsed.search !== "") {
    throw new Error(`${field}.storageResourceUri must not carry a query string; pass the SAS in 'token'.`);
  }
  const token = params["token"];
  if (token !== undefined && token !== null && typeof token !== "string") {
    throw new Error(`${field}.token must be a string (the SAS query string).`);
  }
  const useManagedIdentity = params["useManagedIdentity"];
  if (useManagedIdentity !== undefined && useManagedIdentity !== null && typeof useManagedIdentity !== "boolean") {
    throw new Error(`${field}.useManagedIdentity must be a boolean.`);
  }
  const sas = typeof token === "string" && token !== "" ? token.replace(/^\?/, "") : undefined;
  if (!sas && useManagedIdentity !== true) {
    throw new Error(`${field}: pass either a SAS in 'token' or "useManagedIdentity": true (the HSM's own identity).`);
  }
  if (sas && !new URLSearchParams(sas).has("se")) {
    // The real service answers this one synchronously (400 BadRequest), as recorded.
    throw new Error("The customer provided SAS token is malformed. The SAS token does not contain the expiry field (se).");
  }
  return { storageResourceUri: uri.replace(/\/+$/, ""), token: sas, useManagedIdentity: useManagedIdentity === true };
}

/**
 * The URL the emulator actually connects to. A production-style Azurite URL `http://ACCOUNT.blob.localhost:PORT/C`
 * (what clients that split a backup's folder URL into container and folder need: the Python SDK takes the first
 * path segment as the container) is reached as Azurite's path-style `http://127.0.0.1:PORT/ACCOUNT/C`, because
 * *.localhost names are loopback (RFC 6761 §6.3) but this host's resolver does not know them. The SAS signs
 * account and container, not the URL style, so it stays valid; the job still reports the URL as given.
 */
export function reachableContainerUrl(containerUri: string): string {
  const url = new URL(containerUri);
  const m = /^([a-z0-9]{3,24})\.blob\.localhost$/i.exec(url.hostname);
  if (m === null) return containerUri;
  return `${url.protocol}//127.0.0.1${url.port !== "" ? `:${url.port}` : ""}/${m[1] as string}${url.pathname.replace(/\/+$/, "")}`;
}

export function openContainer(params: SasTokenParameters, emulatorConnectionString: string | undefined): OpenedContainer {
  const containerUri = params.storageResourceUri.replace(/\/+$/, "");
  const reachable = reachableContainerUrl(containerUri);
  if (params.token && !params.useManagedIdentity) {
    const sasPermissions = new URLSearchParams(params.token).get("sp") ?? "";
    return {
      client: new ContainerClient(`${reachable}?${params.token}`, new AnonymousCredential(), STORAGE_PIPELINE),
      containerUri,
      mode: "sas",
      sasPermissions,
    };
  }
  const credential = sharedKeyFromConnectionString(emulatorConnectionString ?? AZURITE_DEV_CONNECTION_STRING);
  return {
    client: new ContainerClient(reachable, credential, STORAGE_PIPELINE),
    containerUri,
    mode: "managedIdentity",
  };
}

function sharedKeyFromConnectionString(connectionString: string): StorageSharedKeyCredential {
  const parts = new Map<string, string>();
  for (const piece of connectionString.split(";")) {
    const at = piece.indexOf("=");
    if (at > 0) parts.set(piece.slice(0, at).trim().toLowerCase(), piece.slice(at + 1).trim());
  }
  const name = parts.get("accountname");
  const key = parts.get("accountkey");
  if (!name || !key) {
    throw new Error("The emulator's --blob connection string has no AccountName/AccountKey; managed-identity backups need an account key connection string.");
  }
  return new StorageSharedKeyCredential(name, key);
}

interface StorageErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
}

/**
 * A statusDetails sentence for a failed storage call: what went wrong and what to do about it.
 * @param operation - what the job was doing, e.g. "write the backup blob 'manifest.json'"
 */
export function describeStorageFailure(error: unknown, container: OpenedContainer, access: BlobAccess, operation: string): string {
  return redactSas(describe(error, container, access, operation));
}

/** A SAS signature must never reach statusDetails, audit records or logs. */
export function redactSas(text: string): string {
  return text.replace(/([?&]?sig=)[^&\s"')]+/gi, "$1REDACTED");
}

function describe(error: unknown, container: OpenedContainer, access: BlobAccess, operation: string): string {
  const e = (error ?? {}) as StorageErrorLike;
  const where = `container ${container.containerUri}`;
  const code = e.code ?? "";
  if (e.statusCode === undefined && /ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|socket|timeout/i.test(`${code} ${e.message ?? ""}`)) {
    return `Storage is unreachable: could not ${operation} in ${where} (${code || e.message}). Check storageResourceUri and that the storage account (or Azurite) is running and reachable from the HSM.`;
  }
  if (code === "ContainerNotFound" || (e.statusCode === 404 && access === "backup")) {
    return `The Blob container does not exist: could not ${operation} in ${where} (ContainerNotFound). Create the container first; a full backup writes its folder into an existing container.`;
  }
  if (e.statusCode === 404 && access === "restore") {
    return `The backup folder was not found: could not ${operation} in ${where} (${code || "404"}). Pass the folderUri a successful backup returned.`;
  }
  if (e.statusCode === 403 || e.statusCode === 401) {
    if (container.mode === "sas") {
      const missing = missingPermissions(container.sasPermissions ?? "", REQUIRED_SAS_PERMISSIONS[access]);
      if (missing.length > 0) {
        return (
          `The SAS token lacks the ${missing.map((p) => `'${p}' (${PERMISSION_NAMES[p] ?? p})`).join(", ")} permission${missing.length > 1 ? "s" : ""}: ` +
          `storage refused to ${operation} in ${where} (${code || e.statusCode}). A ${access} needs a container SAS with sp=${REQUIRED_SAS_PERMISSIONS[access]}; issue a new SAS with those permissions.`
        );
      }
      return `Storage rejected the SAS token: could not ${operation} in ${where} (${code || e.statusCode}). The SAS may be expired, not yet valid, or signed for another container/account; issue a new container SAS with sp=${REQUIRED_SAS_PERMISSIONS[access]}.`;
    }
    return `The HSM's managed identity is not authorized: could not ${operation} in ${where} (${code || e.statusCode}). Grant the identity 'Storage Blob Data Contributor' on the container (emulator: check the --blob connection string).`;
  }
  return `Storage error: could not ${operation} in ${where} (${e.statusCode ?? ""} ${code} ${e.message ?? ""}`.trim() + ").";
}

function missingPermissions(granted: string, required: string): string[] {
  return [...required].filter((p) => !granted.includes(p));
}
