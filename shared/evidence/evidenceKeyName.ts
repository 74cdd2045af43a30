/** The HSM key that seals evidence packs and drill reports (EC P-256, sign/verify only, never exportable). */
export const EVIDENCE_KEY_NAME = "evidence-signing";
