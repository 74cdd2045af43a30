/** Public surface of the emulator package (tests, the runner's start script, benches). */
export { startEmulator, type RunningEmulator, type RunningInstance, type ReadyLine } from "./server";
export { EmulatorCredential } from "./auth/emulatorCredential";
export { EMULATOR_TENANT_ID, signToken, readTokenSecret } from "./auth/tokens";
export { parseCli, type EmulatorOptions, type InstanceSpec, type RouteModule, type EmulatorPlugin, type PluginHandle } from "./options";
export { ensureTls, type TlsMaterial } from "./tls";
export { Instance, type InstanceSnapshot, type KeyVersionCreatedEvent, type CurrentKeyVersion } from "./instance";
export { RouteTable, type Route, type Reply } from "./http/routes";
export type { RequestContext, EmulatorServices } from "./http/requestContext";
export { KeyVaultError, keyVaultErrors } from "./errors";
export { HSM_ROLE_IDS, VAULT_ROLE_IDS } from "./rbac/builtInRoles";
