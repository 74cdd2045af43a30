import { CryptoInputError } from "./cryptoInputError.js";

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Key Vault puts every binary JWK member on the wire as base64url without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

/**
 * Strict base64url decoding. `Buffer.from(s, "base64url")` silently skips foreign characters, so a member like
 * `"n": "abc+/"` would decode to a different number instead of failing; here it is rejected with the member's name.
 * Trailing `=` padding is tolerated because some JWK producers emit it.
 */
export function fromBase64Url(value: string, what: string): Buffer {
  if (!BASE64URL.test(value) || value.replace(/=+$/, "").length % 4 === 1) {
    throw new CryptoInputError(`${what} is not valid base64url (RFC 4648 §5, no padding).`);
  }
  return Buffer.from(value.replace(/=+$/, ""), "base64url");
}
