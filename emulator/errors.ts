/**
 * KeyVaultError: the one error type route handlers throw. The HTTP layer turns it into the service's
 * wire shape `{"error":{"code","message","innererror"?}}` with the given status, so every non-2xx
 * answer carries a JSON body (an empty body makes the 4.10.2 SDK throw a TypeError instead of RestError).
 *
 * Use the `keyVaultErrors` factory so codes and statuses stay the service's real ones.
 */
export class KeyVaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "KeyVaultError";
  }

  toBody(): { error: { code: string; message: string; innererror?: { code: string } } } {
    const error: { code: string; message: string; innererror?: { code: string } } = { code: this.code, message: this.message };
    if (this.innerCode !== undefined) error.innererror = { code: this.innerCode };
    return { error };
  }
}

export const keyVaultErrors = {
  badParameter: (message: string): KeyVaultError => new KeyVaultError(400, "BadParameter", message),
  keyNotFound: (name: string): KeyVaultError =>
    new KeyVaultError(
      404,
      "KeyNotFound",
      `A key with (name/id) ${name} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    ),
  deletedKeyNotFound: (name: string): KeyVaultError => new KeyVaultError(404, "KeyNotFound", `Deleted Key not found: ${name}`),
  notFound: (message: string): KeyVaultError => new KeyVaultError(404, "NotFound", message),
  conflict: (message: string): KeyVaultError => new KeyVaultError(409, "Conflict", message),
  unauthorized: (message: string): KeyVaultError => new KeyVaultError(401, "Unauthorized", message),
  forbidden: (message: string, innerCode?: string): KeyVaultError => new KeyVaultError(403, "Forbidden", message, innerCode),
  forbiddenByRbac: (message: string): KeyVaultError => new KeyVaultError(403, "Forbidden", message, "ForbiddenByRbac"),
  methodNotAllowed: (message: string): KeyVaultError => new KeyVaultError(405, "MethodNotAllowed", message),
  throttled: (retryAfterSeconds: number): KeyVaultError =>
    new KeyVaultError(429, "Throttled", "Request was not processed because too many requests were received. Reason: emulator fault injection.", undefined, {
      "retry-after": String(retryAfterSeconds),
    }),
  internal: (message: string): KeyVaultError => new KeyVaultError(500, "InternalServerError", message),
  serverFault: (status: number): KeyVaultError =>
    new KeyVaultError(status, status === 503 ? "ServiceUnavailable" : "InternalServerError", `Injected fault: the emulator answered ${status} on purpose (fault injection is on).`),
  restoreInProgress: (): KeyVaultError =>
    new KeyVaultError(
      409,
      "Conflict",
      "A full restore is running on this HSM: data-plane operations are disabled until it completes. Poll the restore status and retry afterwards.",
    ),
};
