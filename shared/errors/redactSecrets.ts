/** Query/form parameters whose value is a credential (a SAS signature, OAuth tokens, client secrets). */
const SECRET_PARAMS = "sig|access_token|refresh_token|id_token|client_secret|client_assertion|password";
/** JSON fields whose value is a credential; also matched inside escaped JSON (`\"sig\":\"…\"`), as audit records quote messages. */
const SECRET_FIELDS = `${SECRET_PARAMS}|signature|accessToken|refreshToken|idToken|clientSecret|accountKey|sharedAccessKey|sharedAccessSignature|aeg-sas-key|aeg-sas-token|x-identity-header|authorization`;
/** Headers (and connection-string parts) whose whole value is a credential. */
const SECRET_HEADERS = "aeg-sas-key|aeg-sas-token|x-identity-header";

// A parameter starts the text, or follows ?, &, whitespace, a quote, or their URL-encoded forms (%3F, %26, %20, also
// double-encoded %253F / %2526), so `sig=…` alone, `?sig=…` and `%26sig%3D…` are all found.
const PARAM = new RegExp(`((?:^|[?&\\s"'(;,]|%(?:25)?(?:3F|26|20))(?:${SECRET_PARAMS})(?:=|%(?:25)?3D))[^&\\s"'<>;,]+`, "gi");
const FIELD = new RegExp(`((\\\\?["'])(?:${SECRET_FIELDS})\\2\\s*:\\s*\\\\?["'])(?:\\\\\\/|[^"'\\\\\\s,}])+`, "gi");
const HEADER = new RegExp(`(\\b(?:${SECRET_HEADERS})\\s*[:=]\\s*)[^\\s"',]+`, "gi");
// A JWT is three base64url parts, the first a JSON header (`{"` → `eyJ`); found bare, without a `Bearer` before it.
const JWT = /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/**
 * Removes credentials that service messages, URLs, JSON bodies, headers or connection strings can carry (SAS
 * signatures in any encoding, bearer tokens and bare JWTs, OAuth fields, account/shared-access keys, Event Grid
 * topic keys and SAS tokens) so a message can be logged, stored in durable history or written to an audit record.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(JWT, "REDACTED")
    .replace(PARAM, "$1REDACTED")
    .replace(FIELD, "$1REDACTED")
    .replace(HEADER, "$1REDACTED")
    .replace(/(\bBearer\s+)(?!REDACTED)[A-Za-z0-9._~+/=-]+/gi, "$1REDACTED")
    .replace(/(\bSharedKey\s+[^:\s"']+:)[A-Za-z0-9+/=]+/gi, "$1REDACTED")
    .replace(/(AccountKey=)[^;\s"']+/gi, "$1REDACTED")
    .replace(/(SharedAccessKey=)[^;\s"']+/gi, "$1REDACTED")
    .replace(/(SharedAccessSignature[=\s]\s*)(?!REDACTED)[^;\s"']+/gi, "$1REDACTED");
}

/** Wraps a log sink so every line passes through `redactSecrets` first: for sinks that can carry service messages. */
export function redactingLog(write: (line: string) => void): (line: string) => void {
  return (line) => write(redactSecrets(line));
}
