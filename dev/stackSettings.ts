/**
 * The app settings of the local stack: every key of shared/config/settingsCatalog.ts (computed from what the
 * stack started, else the catalogue default), plus the host-provided variables the app reads indirectly
 * (IDENTITY_ENDPOINT/IDENTITY_HEADER for ManagedIdentityCredential, AzureWebJobsStorage). Written as a
 * `local.settings.json`-style file (mode 0600: it holds the topic key and the identity header, both local
 * secrets) that the runner and Core Tools read.
 */
import { writeFileSync, renameSync } from "node:fs";
import { settingsCatalog } from "../shared/config/settingsCatalog";
import { EMULATOR_TENANT_ID } from "../emulator/auth/tokens";
import { STACK_AUTH_AUDIENCE, STACK_IDENTITIES, STACK_PEOPLE, stackRbacPrincipalIds } from "./stackIdentities";

export interface StackSettingsInput {
  hsms: Record<string, string>;
  vaults: Record<string, string>;
  drillPairs: Array<[primary: string, target: string]>;
  rotationPolicyFile: string;
  storageConnectionString: string;
  topicEndpoint: string;
  topicKey: string;
  eventSources: string[];
  caFile: string;
  identityEndpoint: string;
  identityHeader: string;
  /** The emulator's token secret: requesters' and approvers' emulator tokens are checked with it (emulator mode only). */
  tokenSecretFile: string;
  identities: { rotation: string; backup: string; drill: string };
  /** The operator is attached to the identity endpoint: `hsm-lifecycle rbac` and `status` may sign in as it. */
  operatorIdentity?: boolean;
  /** BACKUP_MANIFEST_KEY (base64): kept in the state folder so manifests stay valid across restarts. */
  manifestKey: string;
  /** Wins over everything computed (e.g. schedules for a demo). */
  overrides?: Record<string, string>;
  /** Told about catalogue keys that are required and that the stack cannot fill. */
  warn?: (line: string) => void;
}

/** Containers the app uses; created by the stack so the first run finds them. */
export const STACK_CONTAINERS = {
  backups: "hsm-backups",
  drillReports: "drill-reports",
  audit: "lifecycle-audit",
  deadLetters: "eventgrid-deadletter",
} as const;

const pairs = (m: Record<string, string>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

export function buildStackSettings(input: StackSettingsInput): Record<string, string> {
  const computed: Record<string, string> = {
    HSMS: pairs(input.hsms),
    VAULTS: pairs(input.vaults),
    DRILL_PAIRS: input.drillPairs.map(([p, t]) => `${p}=${t}`).join(","),
    ROTATION_POLICY_FILE: input.rotationPolicyFile,
    STORAGE_ACCOUNT_URL: "",
    STORAGE_CONNECTION_STRING: input.storageConnectionString,
    BACKUP_CONTAINER: STACK_CONTAINERS.backups,
    // The emulated HSM reaches Azurite with its own "managed identity" (the emulator's --blob).
    BACKUP_AUTH: "managedIdentity",
    BACKUP_MANIFEST_KEY: input.manifestKey,
    DRILL_REPORTS_CONTAINER: STACK_CONTAINERS.drillReports,
    AUDIT_CONTAINER: STACK_CONTAINERS.audit,
    // Local admin jobs finish in well under a second; poll often so a cycle is quick.
    POLLER_INTERVAL_MS: "200",
    LIFECYCLE_TOPIC_ENDPOINT: input.topicEndpoint,
    LIFECYCLE_TOPIC_KEY: input.topicKey,
    EVENT_SOURCES: input.eventSources.join(","),
    ROTATION_IDENTITY_CLIENT_ID: input.identities.rotation,
    BACKUP_IDENTITY_CLIENT_ID: input.identities.backup,
    DRILL_IDENTITY_CLIENT_ID: input.identities.drill,
    RETENTION_IDENTITY_CLIENT_ID: STACK_IDENTITIES.retention,
    DR_STEWARD_IDENTITY_CLIENT_ID: STACK_IDENTITIES.steward,
    RECOVERY_IDENTITY_CLIENT_ID: STACK_IDENTITIES.recovery,
    RBAC_PRINCIPAL_IDS: stackRbacPrincipalIds(),
    // The operator (--admin) is the stack's administrator: `hsm-lifecycle rbac` signs in as it when it has a
    // managed identity (the app's identity header never yields it otherwise).
    RBAC_ADMIN_CLIENT_ID: input.operatorIdentity === true ? STACK_IDENTITIES.operator : "",
    HSM_TLS_CA_FILE: input.caFile,
    // Dual control: demo people; the operator (not an approver) requests, two approvers suffice for every operation.
    OPERATORS: STACK_PEOPLE.operator,
    APPROVERS: STACK_PEOPLE.approvers.join(","),
    AUTH_AUDIENCE: STACK_AUTH_AUDIENCE,
    AUTH_TENANT_ID: EMULATOR_TENANT_ID,
    AUTH_TOKEN_SECRET_FILE: input.tokenSecretFile,
    // Every instance of the stack is the emulator on 127.0.0.1.
    HSM_EMULATOR: "true",
  };
  const values: Record<string, string> = {};
  for (const spec of settingsCatalog) {
    const v = computed[spec.key] ?? spec.default;
    if (v !== undefined) values[spec.key] = v;
    else input.warn?.(`app setting ${spec.key} is required and the local stack does not set it; pass it in settingsOverrides.`);
  }
  Object.assign(values, {
    // What App Service / the Functions host put into the environment.
    IDENTITY_ENDPOINT: input.identityEndpoint,
    IDENTITY_HEADER: input.identityHeader,
    AzureWebJobsStorage: input.storageConnectionString,
    FUNCTIONS_WORKER_RUNTIME: "node",
  });
  Object.assign(values, input.overrides ?? {});
  return values;
}

export function writeSettingsFile(file: string, values: Record<string, string>): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify({ IsEncrypted: false, Values: values }, null, 2) + "\n", { mode: 0o600 });
  renameSync(tmp, file);
}
