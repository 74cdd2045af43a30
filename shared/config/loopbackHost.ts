/**
 * Whether a URL host name is a loopback address: `localhost`, 127.0.0.0/8 or `::1` (as `URL.hostname` spells
 * them). Emulator-only relaxations are tied to this, so they can never apply to a host another machine serves.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host === "[::1]" || host === "::1") return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255);
}

/** {@link isLoopbackHost} of an absolute URL; false for anything that does not parse. */
export function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}
