/**
 * The comparable form of an HSM URL: lower-case origin, no default port, no trailing dot or slash. Two URLs
 * that differ only in spelling (`HTTPS://Contoso.managedhsm.azure.net:443/`) must compare equal, or a
 * drill target that is really the primary would slip through the interlock.
 */
export function normaliseHsmUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new RangeError(`"${raw}" is not an HSM URL; expected https://<name>.managedhsm.azure.net (or the emulator's https://127.0.0.1:PORT).`);
  }
  const host = u.hostname.toLowerCase().replace(/\.$/, "");
  const port = u.port === "" || (u.protocol === "https:" && u.port === "443") ? "" : `:${u.port}`;
  return `${u.protocol.toLowerCase()}//${host}${port}`;
}
