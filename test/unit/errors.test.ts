import { RestError, createHttpHeaders, createPipelineRequest } from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import { LifecycleError, errorCodes, fromRestError, redactSecrets, retryableByCode, toLifecycleError } from "../../shared/errors";

/** A RestError as core-rest-pipeline builds it for a service error body (see managed-hsm-api.md §1.5). */
function serviceError(status: number, code: string | undefined, message: string, inner?: string): RestError {
  const request = createPipelineRequest({ url: "https://contoso.managedhsm.azure.net/keys/k1/rotate?api-version=2025-07-01" });
  const e = new RestError(message, {
    statusCode: status,
    ...(code === undefined ? {} : { code }),
    request,
    response: { status, headers: createHttpHeaders(), request },
  });
  if (inner !== undefined) e.details = { error: { code, message, innerError: { code: inner } } };
  return e;
}

const hsm = { service: "managedHsm" as const, operation: "rotateKey", resource: "https://contoso.managedhsm.azure.net/keys/k1" };

describe("LifecycleError", () => {
  it("starts its message with [Code] and takes retryable from the code", () => {
    const e = new LifecycleError("Throttled", "slow down.");
    expect(e.message).toBe("[Throttled] slow down.");
    expect(e.retryable).toBe(true);
    expect(e.detail).toBe("slow down.");
    expect(e.name).toBe("LifecycleError");
    expect(new LifecycleError("KeyNotFound", "x").retryable).toBe(false);
  });

  it("lists codes longest first so no code is a shadowing prefix of another in the scan", () => {
    for (let i = 1; i < errorCodes.length; i++) expect(errorCodes[i - 1]!.length).toBeGreaterThanOrEqual(errorCodes[i]!.length);
    expect(new Set(errorCodes).size).toBe(Object.keys(retryableByCode).length);
  });
});

describe("fromRestError", () => {
  it("maps 404 KeyNotFound to KeyNotFound, not retryable, naming the key and the fix", () => {
    const e = fromRestError(serviceError(404, "KeyNotFound", "A key with (name/id) k1 was not found in this key vault."), hsm);
    expect(e.code).toBe("KeyNotFound");
    expect(e.retryable).toBe(false);
    expect(e.message).toBe(
      "[KeyNotFound] rotateKey on https://contoso.managedhsm.azure.net/keys/k1 failed: the key does not exist (404 KeyNotFound). Fix: check the key name, or recover it if it was deleted.",
    );
    expect(e.cause).toBeInstanceOf(RestError);
  });

  it("maps 429 to Throttled and 5xx/408 to ServiceUnavailable, both retryable", () => {
    const t = fromRestError(serviceError(429, "Throttled", "Too many requests"), hsm);
    expect([t.code, t.retryable]).toEqual(["Throttled", true]);
    for (const status of [408, 500, 502, 503, 504]) {
      const s = fromRestError(serviceError(status, "InternalError", "oops"), hsm);
      expect([s.code, s.retryable]).toEqual(["ServiceUnavailable", true]);
    }
    expect(fromRestError(serviceError(501, undefined, "nope"), hsm).code).toBe("Unexpected");
  });

  it("maps 403 Forbidden to MissingRole naming the role the operation needs", () => {
    const e = fromRestError(serviceError(403, "Forbidden", "Operation not allowed", "ForbiddenByRbac"), hsm);
    expect(e.code).toBe("MissingRole");
    expect(e.retryable).toBe(false);
    expect(e.message).toContain('lacks the "HSM Lifecycle Rotation" role');
    expect(e.message).toContain("403 ForbiddenByRbac");
    expect(e.message).toContain('Fix: assign "HSM Lifecycle Rotation"');
    const backup = fromRestError(serviceError(403, "Forbidden", "denied"), { service: "managedHsm", operation: "beginBackup", requiredRole: "Managed HSM Backup User" });
    expect(backup.message).toContain('"Managed HSM Backup User"');
    const blob = fromRestError(serviceError(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission."), { service: "storage", operation: "uploadManifest" });
    expect(blob.code).toBe("MissingRole");
    expect(blob.message).toContain('"Storage Blob Data Contributor"');
  });

  it("maps firewall refusals to FirewallBlocked, not MissingRole", () => {
    expect(fromRestError(serviceError(403, "Forbidden", "Client address is not authorized", "ForbiddenByFirewall"), hsm).code).toBe("FirewallBlocked");
    // The key's own state, not a role: a disabled version or key_ops that exclude the operation.
    for (const inner of ["KeyDisabled", "KeyOperationForbidden"]) {
      const refused = fromRestError(serviceError(403, "Forbidden", "Operation sign is not permitted on this key.", inner), hsm);
      expect(refused.code).toBe("Conflict");
      expect(refused.message).toContain(`403 ${inner}`);
      expect(refused.message).not.toContain("lacks");
    }
    expect(fromRestError(serviceError(403, "AuthorizationFailure", "This request is not authorized to perform this operation."), { service: "storage", operation: "list" }).code).toBe(
      "FirewallBlocked",
    );
  });

  it("maps 401, 400, 409 and a missing container", () => {
    expect(fromRestError(serviceError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."), hsm).code).toBe("Unauthorized");
    expect(fromRestError(serviceError(400, "BadParameter", "bad"), hsm).code).toBe("BadParameter");
    const c = fromRestError(serviceError(409, "Conflict", "another backup operation is in progress"), { service: "managedHsm", operation: "beginBackup" });
    expect([c.code, c.retryable]).toEqual(["Conflict", false]);
    expect(c.message).toContain("another backup operation is in progress");
    expect(fromRestError(serviceError(404, "ContainerNotFound", "The specified container does not exist."), { service: "storage", operation: "upload" }).code).toBe("ContainerNotFound");
    expect(fromRestError(serviceError(404, undefined, "Unexpected status code: 404"), hsm).code).toBe("NotFound");
  });

  it("maps connection failures to Unreachable (StorageUnreachable for storage) and TLS failures to TlsUntrusted", () => {
    const refused = new RestError("connect ECONNREFUSED 127.0.0.1:1", { code: "ECONNREFUSED" });
    expect(fromRestError(refused, hsm).code).toBe("Unreachable");
    expect(fromRestError(refused, { service: "storage", operation: "upload" }).code).toBe("StorageUnreachable");
    expect(fromRestError(new RestError("socket hang up", { code: RestError.REQUEST_SEND_ERROR }), hsm).retryable).toBe(true);
    const tls = fromRestError(new RestError("self-signed certificate in certificate chain", { code: "SELF_SIGNED_CERT_IN_CHAIN" }), hsm);
    expect([tls.code, tls.retryable]).toEqual(["TlsUntrusted", false]);
    expect(tls.message).toContain("HSM_TLS_CA_FILE");
  });

  it("never carries a SAS signature from the resource or the service message", () => {
    const e = fromRestError(serviceError(400, "BadRequest", "The SAS https://acct.blob.core.windows.net/c?sv=2024&sig=SECRETSIG is malformed"), {
      service: "managedHsm",
      operation: "beginBackup",
      resource: "https://acct.blob.core.windows.net/c?sv=2024&sig=SECRETSIG",
    });
    expect(e.message).not.toContain("SECRETSIG");
    expect(e.message).toContain("sig=REDACTED");
  });
});

describe("toLifecycleError", () => {
  it("passes LifecycleErrors through, maps RestErrors, and wraps anything else as Unexpected", () => {
    const own = new LifecycleError("JobFailed", "x");
    expect(toLifecycleError(own)).toBe(own);
    expect(toLifecycleError(serviceError(429, "Throttled", "t"), hsm).code).toBe("Throttled");
    const other = toLifecycleError(new TypeError("cannot read x"), hsm);
    expect(other.code).toBe("Unexpected");
    expect(other.message).toBe("[Unexpected] rotateKey on https://contoso.managedhsm.azure.net/keys/k1 failed: TypeError: cannot read x");
    expect(toLifecycleError("str").message).toBe("[Unexpected] str");
  });
});

describe("redactSecrets", () => {
  it("removes SAS signatures, bearer tokens, account keys and topic keys", () => {
    const text = "u?sv=1&sig=abc%2F== Authorization: Bearer eyJ.a.b AccountKey=xyz==; aeg-sas-key: k123";
    const out = redactSecrets(text);
    for (const secret of ["abc%2F==", "eyJ.a.b", "xyz==", "k123"]) expect(out).not.toContain(secret);
  });
});
