/** The two flavours the emulator serves: Managed HSM and Key Vault (premium). */
export type InstanceKind = "managedHsm" | "vault";

/** Token audience / challenge resource per flavour (what the real services use). */
export function resourceFor(kind: InstanceKind): string {
  return kind === "managedHsm" ? "https://managedhsm.azure.net" : "https://vault.azure.net";
}

/**
 * The challenge resource (and required token audience) for a request. Clients that keep the SDK's
 * challenge-resource verification ON address an instance as `https://NAME.managedhsm.localhost:PORT`
 * (or `NAME.vault.localhost`); for those hosts the resource is `https://managedhsm.localhost`
 * (`https://vault.localhost`) so the host ends with it, as the SDK requires. All other hosts get the real
 * resource and need `disableChallengeResourceVerification: true`.
 */
export function resourceForHost(kind: InstanceKind, host: string): string {
  const hostname = host.replace(/:\d+$/, "").toLowerCase();
  if (kind === "managedHsm" && hostname.endsWith(".managedhsm.localhost")) return "https://managedhsm.localhost";
  if (kind === "vault" && hostname.endsWith(".vault.localhost")) return "https://vault.localhost";
  return resourceFor(kind);
}
