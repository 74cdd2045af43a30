/**
 * A crypto request the caller got wrong: an algorithm that does not fit the key, a digest, IV, tag or key of the
 * wrong length, a ciphertext or backup blob that does not decrypt. The emulator's routes turn it into
 * `400 BadParameter` with this message, so the message must name the problem (and never echo key material).
 */
export class CryptoInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CryptoInputError";
  }
}
