/**
 * Managed HSM security domain client — `SecurityDomainClient` of azure-keyvault-securitydomain (Python; there
 * is no JavaScript package), on the same pipeline as our other admin clients (core-rest-pipeline, Key Vault
 * challenge auth, service errors as RestError). Works against a real Managed HSM and the local emulator.
 *
 * ```ts
 * const client = new SecurityDomainClient(hsmUrl, credential);
 * const sd = await client.download({ certificates: [jwk1, jwk2, jwk3], required: 2 }); // waits for activation
 * const { transferKey } = await client.getTransferKey();                                // recovery HSM
 * await client.upload({ value: restoreBlob });                                          // waits; throws on Failed
 * ```
 */
import type { TokenCredential } from "@azure/core-auth";
import { createAdminPipeline, isRecord, type AdminPipeline } from "./adminPipeline.js";
import type {
  CertificateInfo,
  SecurityDomain,
  SecurityDomainClientOptions,
  SecurityDomainJsonWebKey,
  SecurityDomainOperationStatus,
  SecurityDomainPollOptions,
  TransferKey,
} from "./securityDomainClientModels.js";

/** A security domain operation that ended Failed (status_details is the service's reason). */
export class SecurityDomainOperationError extends Error {
  override name = "SecurityDomainOperationError";
  constructor(
    readonly operation: "download" | "upload",
    readonly statusDetails: string,
  ) {
    super(`The security domain ${operation} failed: ${statusDetails}`);
  }
}

interface StatusWire {
  status?: unknown;
  status_details?: unknown;
}

export class SecurityDomainClient {
  public readonly vaultUrl: string;
  private readonly pipeline: AdminPipeline;

  constructor(vaultUrl: string, credential: TokenCredential, options: SecurityDomainClientOptions = {}) {
    this.pipeline = createAdminPipeline(vaultUrl, credential, options);
    this.vaultUrl = this.pipeline.vaultUrl;
  }

  /**
   * Downloads the security domain encrypted to the certificates (this activates a new HSM), then polls the
   * download status until the HSM reports Success. Throws {@link SecurityDomainOperationError} on Failed.
   */
  async download(certificateInfo: CertificateInfo, options: SecurityDomainPollOptions = {}): Promise<SecurityDomain> {
    const response = await this.pipeline.send<{ value?: unknown }>({
      method: "POST",
      pathOrUrl: "/securitydomain/download",
      body: certificateInfo,
      expectedStatuses: [200, 202],
      abortSignal: options.abortSignal,
    });
    if (!isRecord(response.body) || typeof response.body.value !== "string") throw new Error("The security domain download answered without a security domain (no string 'value').");
    await this.pollUntilDone("download", response.headers, options);
    return { value: response.body.value };
  }

  async getDownloadStatus(options: { abortSignal?: AbortSignal } = {}): Promise<SecurityDomainOperationStatus> {
    return this.status("/securitydomain/download/pending", options.abortSignal);
  }

  /** The exchange key of an HSM in recovery mode (`az keyvault security-domain init-recovery`). */
  async getTransferKey(options: { abortSignal?: AbortSignal } = {}): Promise<TransferKey> {
    const response = await this.pipeline.send<{ key_format?: unknown; transfer_key?: unknown }>({
      method: "GET",
      pathOrUrl: "/securitydomain/upload",
      expectedStatuses: [200],
      abortSignal: options.abortSignal,
    });
    const body = isRecord(response.body) ? response.body : {};
    // The service sends the JWK as a JSON string (the CLI decodes it twice); the spec describes an object.
    let jwk: unknown = body["transfer_key"];
    if (typeof jwk === "string") {
      try {
        jwk = JSON.parse(jwk) as unknown;
      } catch {
        jwk = undefined;
      }
    }
    if (!isRecord(jwk) || !Array.isArray(jwk["x5c"]) || typeof jwk["x5c"][0] !== "string") {
      throw new Error("The HSM answered GET /securitydomain/upload without an exchange key certificate (transfer_key.x5c).");
    }
    return { keyFormat: typeof body["key_format"] === "string" ? body["key_format"] : "jwk", transferKey: jwk as unknown as SecurityDomainJsonWebKey };
  }

  /** Uploads a restore blob and polls until the HSM reports Success; throws on Failed. */
  async upload(securityDomain: SecurityDomain, options: SecurityDomainPollOptions = {}): Promise<SecurityDomainOperationStatus> {
    const response = await this.pipeline.send<StatusWire>({
      method: "POST",
      pathOrUrl: "/securitydomain/upload",
      body: securityDomain,
      expectedStatuses: [200, 202, 204],
      abortSignal: options.abortSignal,
    });
    return this.pollUntilDone("upload", response.headers, options);
  }

  async getUploadStatus(options: { abortSignal?: AbortSignal } = {}): Promise<SecurityDomainOperationStatus> {
    return this.status("/securitydomain/upload/pending", options.abortSignal);
  }

  private async status(pathOrUrl: string, abortSignal: AbortSignal | undefined): Promise<SecurityDomainOperationStatus> {
    const response = await this.pipeline.send<StatusWire>({ method: "GET", pathOrUrl, expectedStatuses: [200], abortSignal });
    const body: StatusWire = isRecord(response.body) ? response.body : {};
    const out: SecurityDomainOperationStatus = { status: typeof body.status === "string" ? body.status : "Unknown" };
    if (typeof body.status_details === "string") out.statusDetails = body.status_details;
    return out;
  }

  /** Polls Azure-AsyncOperation (else the operation's pending URL) until Success or Failed. */
  private async pollUntilDone(operation: "download" | "upload", headers: Record<string, string>, options: SecurityDomainPollOptions): Promise<SecurityDomainOperationStatus> {
    // Follow the service's status link only on this HSM: our bearer token must never go to another host.
    const link = headers["azure-asyncoperation"];
    const url = link !== undefined && sameOrigin(link, this.vaultUrl) ? link : `/securitydomain/${operation}/pending`;
    const deadline = Date.now() + (options.timeoutInMs ?? 600_000);
    for (;;) {
      const s = await this.status(url, options.abortSignal);
      // "Succeeded" too: older service versions answered it (the CLI accepts both).
      if (s.status === "Success" || s.status === "Succeeded") return s;
      if (s.status === "Failed") throw new SecurityDomainOperationError(operation, s.statusDetails ?? "no details given");
      if (Date.now() >= deadline) throw new Error(`The security domain ${operation} is still ${s.status} after ${Math.round((options.timeoutInMs ?? 600_000) / 1000)} s; check it with get${operation === "download" ? "Download" : "Upload"}Status().`);
      const retryAfter = Number(headers["retry-after"] ?? "0");
      await new Promise((r) => setTimeout(r, retryAfter > 0 ? retryAfter * 1000 : (options.intervalInMs ?? 2000)));
    }
  }
}

function sameOrigin(url: string, base: string): boolean {
  try {
    return new URL(url).origin === new URL(base).origin;
  } catch {
    return false;
  }
}
