/**
 * Removes credentials that service messages, URLs or connection strings can carry (SAS signatures,
 * bearer tokens, account keys) so an error message can be logged and stored in durable history.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/([?&]sig=)[^&\s"']+/gi, "$1REDACTED")
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, "$1REDACTED")
    .replace(/(AccountKey=)[^;\s"']+/gi, "$1REDACTED")
    .replace(/(SharedAccessSignature=)[^;\s"']+/gi, "$1REDACTED")
    .replace(/(aeg-sas-key[:=]\s*)[^\s"',;]+/gi, "$1REDACTED");
}
