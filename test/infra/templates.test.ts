/**
 * infra/ without a Bicep compiler: the templates are checked against the files they share with the app. Every role
 * they name exists in lifecycleRoles.json; every setting the app reads (settingsCatalog.json) is set by main.bicep
 * or left to a default the README documents; HSMs and vaults are only ever `existing`; the plan runs Node 22.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import roles from "../../shared/rbac/lifecycleRoles.json";
import { settingsCatalog } from "../../shared/config/settingsCatalog";
import { LIFECYCLE_ROLES } from "../../shared/rbac/lifecycleRoles";
import { hsmRbacSettings, rbacCliArgs } from "../../scripts/applyHsmRbac";
import { runCliProcess } from "../support/runCliProcess";
import { bicepBlock, declaredParams, evaluateExpression, moduleParamKeys, propertyExpression } from "../support/bicepText";

const root = resolve(__dirname, "../..");
const infra = join(root, "infra");
const bicepFiles = [join(infra, "main.bicep"), ...readdirSync(join(infra, "modules")).map((f) => join(infra, "modules", f))];
const read = (f: string): string => readFileSync(f, "utf8");
const main = read(join(infra, "main.bicep"));

/** The keys of main.bicep's `lifecycleSettings` object: the app settings the deployment sets. */
function deployedSettingKeys(): string[] {
  const block = /var lifecycleSettings = \{\n([\s\S]*?)\n\}/.exec(main);
  if (block?.[1] === undefined) throw new Error("main.bicep has no `var lifecycleSettings = { … }` block");
  return block[1].split("\n").map((l) => /^\s+([A-Z0-9_]+):/.exec(l)?.[1]).filter((k): k is string => k !== undefined);
}

/** Settings the deployment leaves to the app's defaults; the README's "Deploying to Azure" must name each. */
/** Public network access that follows enablePrivateNetworking: off with it, on without. */
const FOLLOWS_PRIVATE_NETWORKING = [
  { file: "modules/lifecycleLog.bicep", resource: "endpoint", property: "publicNetworkAccess" },
  { file: "modules/monitoring.bicep", resource: "workspace", property: "publicNetworkAccessForIngestion" },
  { file: "modules/monitoring.bicep", resource: "appInsights", property: "publicNetworkAccessForIngestion" },
  { file: "modules/storage.bicep", resource: "host", property: "publicNetworkAccess" },
  { file: "modules/topic.bicep", resource: "topic", property: "publicNetworkAccess" },
];

/** Public network access kept on under private networking, each for a reason the template's comments give. */
const KEPT_PUBLIC = [
  // Managed HSM writes backups as a trusted Azure service, which needs public access on (the firewall denies the rest).
  { file: "modules/storage.bicep", resource: "lifecycle", property: "publicNetworkAccess" },
  // People (auditors, the SOC) query from outside the VNet; the app runs no queries.
  { file: "modules/monitoring.bicep", resource: "workspace", property: "publicNetworkAccessForQuery" },
  { file: "modules/monitoring.bicep", resource: "appInsights", property: "publicNetworkAccessForQuery" },
  // Event Grid cannot deliver to a private endpoint; approvers call the app from their own networks.
  { file: "modules/functionApp.bicep", resource: "app", property: "publicNetworkAccess" },
];

/** Microsoft's private DNS zones for the Azure Monitor Private Link Scope's endpoint (sub-resource azuremonitor). */
const AMPLS_ZONES = ["privatelink.monitor.azure.com", "privatelink.oms.opinsights.azure.com", "privatelink.ods.opinsights.azure.com", "privatelink.agentsvc.azure-automation.net", "privatelink.blob.core.windows.net"];

const LEFT_TO_DEFAULTS = ["ROTATION_POLICY_FILE", "ROTATION_BATCH_SIZE", "HSM_CREATE_RATE", "SWEEP_SCHEDULE", "BACKUP_SCHEDULE", "BACKUP_REVERIFY_SCHEDULE", "DRILL_SCHEDULE", "RETENTION_DAILY", "RETENTION_WEEKLY", "RETENTION_MONTHLY", "ADMIN_JOB_TIMEOUT", "BACKUP_DEADLINE", "POLLER_INTERVAL_MS", "RTO_TARGET", "RPO_TARGET", "APPROVAL_POLICY", "APPROVAL_WINDOW", "COMPROMISE_GRACE"];

describe("infra/ templates", () => {
  it("every file main.bicep references exists, and every module is referenced", () => {
    const referenced = new Set<string>();
    for (const f of bicepFiles) for (const m of read(f).matchAll(/module \w+ '([^']+)'/g)) referenced.add(resolve(join(f, ".."), m[1]!));
    for (const r of referenced) expect(bicepFiles, `module ${r}`).toContain(r);
    for (const f of bicepFiles.slice(1)) expect([...referenced], `${f} is used`).toContain(f);
    for (const f of bicepFiles) for (const m of read(f).matchAll(/loadJsonContent\('([^']+)'\)/g)) expect(() => JSON.parse(read(resolve(join(f, ".."), m[1]!)))).not.toThrow();
  });

  it("for-expressions stand alone (Bicep rejects one inside a function call) and lambdas never index a resource loop", () => {
    for (const f of bicepFiles) {
      const text = read(f);
      for (const m of text.matchAll(/\[for /g)) expect(text.slice(Math.max(0, m.index - 2), m.index), `${f}: a for-expression must follow "= " or ": "`).toMatch(/^(= |: )$/);
      const loops = [...text.matchAll(/^resource (\w+) '[^']+' = \[for/gm)].map((m) => m[1]!);
      for (const line of text.split("\n").filter((l) => l.includes("=>"))) for (const r of loops) expect(line, `${f}: a lambda indexes ${r}[…]`).not.toContain(`${r}[`);
    }
  });

  it("every module reference passes each parameter the module requires and none it does not declare", () => {
    for (const f of bicepFiles) {
      const text = read(f);
      for (const m of text.matchAll(/^module (\w+) '([^']+)'/gm)) {
        const passed = moduleParamKeys(bicepBlock(text, "module", m[1]!));
        const declared = declaredParams(read(resolve(join(f, ".."), m[2]!)));
        for (const p of declared.required) expect(passed, `${f}: module ${m[1]} must pass ${p}`).toContain(p);
        for (const p of passed) expect(declared.all, `${f}: module ${m[1]} passes ${p}, which ${m[2]} does not declare`).toContain(p);
      }
    }
  });

  it("with private networking public network access is off (on without) on the data collection endpoint, Application Insights and workspace ingestion, host storage and the topic", () => {
    for (const s of FOLLOWS_PRIVATE_NETWORKING) {
      const text = read(join(infra, s.file));
      const expression = propertyExpression(bicepBlock(text, "resource", s.resource), s.property);
      expect(evaluateExpression(text, expression, { privateNetworking: true }), `${s.file} ${s.resource}.${s.property} with private networking`).toBe("Disabled");
      expect(evaluateExpression(text, expression, { privateNetworking: false }), `${s.file} ${s.resource}.${s.property} without`).toBe("Enabled");
    }
    // The lifecycle account stays reachable for trusted services only: its firewall denies everything else.
    const storage = read(join(infra, "modules", "storage.bicep"));
    const lifecycle = bicepBlock(storage, "resource", "lifecycle");
    expect(evaluateExpression(storage, propertyExpression(lifecycle, "defaultAction"), { privateNetworking: true })).toBe("Deny");
    expect(evaluateExpression(storage, propertyExpression(lifecycle, "bypass"), {})).toBe("AzureServices");
    // Each module that reads the setting gets main.bicep's.
    for (const f of bicepFiles.slice(1)) {
      if (!declaredParams(read(f)).all.includes("privateNetworking")) continue;
      const uses = [...main.matchAll(/^module (\w+) '([^']+)'/gm)].filter((m) => resolve(infra, m[2]!) === f);
      expect(uses.length, `${f} is used by main.bicep`).toBeGreaterThan(0);
      for (const m of uses) expect(propertyExpression(bicepBlock(main, "module", m[1]!), "privateNetworking"), `main.bicep module ${m[1]}`).toBe("enablePrivateNetworking");
    }
  });

  it("every public network access setting in infra/ either follows private networking or is kept on for a stated reason", () => {
    const known = [...FOLLOWS_PRIVATE_NETWORKING, ...KEPT_PUBLIC].map((s) => `${s.file} ${s.resource}.${s.property}`);
    const found: string[] = [];
    for (const f of bicepFiles) {
      const text = read(f);
      for (const m of text.matchAll(/\b(publicNetworkAccess\w*): /g)) {
        const resource = [...text.slice(0, m.index).matchAll(/^resource (\w+) /gm)].pop()?.[1];
        found.push(`${f.slice(infra.length + 1)} ${resource}.${m[1]}`);
      }
    }
    expect(found.sort()).toEqual(known.sort());
    for (const s of KEPT_PUBLIC) {
      const text = read(join(infra, s.file));
      expect(evaluateExpression(text, propertyExpression(bicepBlock(text, "resource", s.resource), s.property), { privateNetworking: true })).toBe("Enabled");
    }
  });

  it("with private networking the data collection endpoint, Application Insights and the workspace are reached through an Azure Monitor Private Link Scope", () => {
    const link = bicepBlock(main, "module", "monitorPrivateLink");
    expect(link.split("\n")[0]).toMatch(/= if \(enablePrivateNetworking\) \{$/);
    expect(link).toMatch(/scopedResourceIds: \[lifecycleLog\.outputs\.endpointId, monitoring\.outputs\.appInsightsId, monitoring\.outputs\.workspaceId\]/);
    expect(read(join(infra, "modules", "lifecycleLog.bicep"))).toMatch(/\noutput endpointId string = endpoint\.id\n/);
    const monitoring = read(join(infra, "modules", "monitoring.bicep"));
    expect(monitoring).toMatch(/\noutput appInsightsId string = appInsights\.id\n/);
    expect(monitoring).toMatch(/\noutput workspaceId string = workspace\.id\n/);
    // The app's ingestion goes to this endpoint (the rule is bound to it), so the private path is the one it uses.
    expect(main).toMatch(/\n {2}LIFECYCLE_LOG_ENDPOINT: lifecycleLog\.outputs\.ingestionEndpoint\n/);
    expect(read(join(infra, "modules", "lifecycleLog.bicep"))).toMatch(/dataCollectionEndpointId: endpoint\.id/);

    const scope = read(join(infra, "modules", "monitorPrivateLink.bicep"));
    expect(bicepBlock(scope, "resource", "scoped")).toMatch(/\[for id in scopedResourceIds: \{[\s\S]*linkedResourceId: id/);
    expect(evaluateExpression(scope, propertyExpression(bicepBlock(scope, "resource", "scope"), "ingestionAccessMode"), {})).toBe("PrivateOnly");
    const endpoint = bicepBlock(scope, "module", "privateEndpoint");
    expect(propertyExpression(endpoint, "groupId")).toBe("'azuremonitor'");
    expect(propertyExpression(endpoint, "targetId")).toBe("scope.id");
    expect(propertyExpression(endpoint, "dnsZoneIds")).toBe("dnsZoneIds");
    // The endpoint registers in each of Microsoft's zones for the scope, all made and linked by network.bicep.
    const zones = Object.fromEntries([...read(join(infra, "modules", "network.bicep")).matchAll(/^ {2}(\w+): '([^']+)'$/gm)].map((m) => [m[1]!, m[2]!.replace("${environment().suffixes.storage}", "core.windows.net")]));
    const passed = [...link.matchAll(/network\.outputs\.dnsZoneIds\.(\w+)/g)].map((m) => zones[m[1]!]);
    expect(passed.sort()).toEqual([...AMPLS_ZONES].sort());
  });

  it("every setting the app reads is set by the deployment or left to a default the README documents", () => {
    const deployed = deployedSettingKeys();
    const catalogKeys = settingsCatalog.map((s) => s.key);
    for (const k of deployed) expect(catalogKeys, `main.bicep sets ${k}, which the app does not read`).toContain(k);
    const readme = read(join(root, "README.md"));
    const deploying = readme.slice(readme.indexOf("## Deploying to Azure"), readme.indexOf("\n## ", readme.indexOf("## Deploying to Azure") + 5));
    for (const s of settingsCatalog) {
      if (deployed.includes(s.key)) continue;
      expect(LEFT_TO_DEFAULTS, `${s.key} is neither set by infra/main.bicep nor listed as left to its default`).toContain(s.key);
      expect(s.default, `${s.key} has no default, so the deployment must set it`).toBeDefined();
      expect(deploying, `README "Deploying to Azure" names ${s.key}`).toContain(s.key);
    }
    // Required settings (no default) are always set; secrets and emulator-only settings stay empty.
    for (const s of settingsCatalog.filter((x) => x.default === undefined)) expect(deployed).toContain(s.key);
    for (const k of ["STORAGE_CONNECTION_STRING", "LIFECYCLE_TOPIC_KEY", "HSM_TLS_CA_FILE", "AUTH_TOKEN_SECRET_FILE"]) expect(main).toMatch(new RegExp(`\\n  ${k}: ''\\n`));
    // The other secret reaches the app only as a Key Vault reference, resolved by the host identity.
    expect(main).toMatch(/\n {2}BACKUP_MANIFEST_KEY: '@Microsoft\.KeyVault\(VaultName=/);
    expect(read(join(infra, "modules", "functionApp.bicep"))).toMatch(/keyVaultReferenceIdentity: hostIdentityId/);
  });

  it("container names are the app's defaults, and the immutable copy container has version-level WORM", () => {
    for (const c of Object.values(roles.azure.containers)) {
      if ("name" in c) continue;
      expect(settingsCatalog.find((s) => s.key === c.setting)?.default, c.setting).toBeTruthy();
    }
    const storage = read(join(infra, "modules", "storage.bicep"));
    expect(storage).toMatch(/immutableStorageWithVersioning: \{ enabled: true \}/);
    expect(storage).toMatch(/isVersioningEnabled: true/);
    expect(storage).toMatch(/immutabilityPeriodSinceCreationInDays: backupCopyImmutabilityDays/);
    expect(storage).toMatch(/allowSharedKeyAccess: false/);
  });

  it("every role an assignment names exists in lifecycleRoles.json, scoped to a container, the account or the topic", () => {
    const known = new Set([...Object.keys(roles.azure.builtInRoles), ...Object.keys(roles.azure.customRoles)]);
    const containers = Object.keys(roles.azure.containers);
    const identities = ["rotation", "backup", "retention", "drill", "steward", "recovery", "auditor", "hsm"];
    for (const a of roles.azure.storageAssignments) {
      expect(known, a.role).toContain(a.role);
      expect(containers).toContain(a.container);
      expect(identities).toContain(a.identity);
    }
    for (const a of [...roles.azure.accountAssignments, ...roles.azure.topicAssignments]) expect(known, a.role).toContain(a.role);
    for (const r of [...roles.azure.hostStorageRoles, ...roles.azure.monitoringRoles, ...roles.azure.secretAssignments.map((a) => a.role)]) expect(known, r).toContain(r);
    // Only the retention identity and the HSMs may delete in the backup container, only retention in the copy container
    // (what immutability allows); nobody deletes audit records.
    const deleters = roles.azure.storageAssignments.filter((a) => a.role === "Storage Blob Data Contributor" || a.role === "Storage Blob Data Owner");
    expect(deleters.map((a) => `${a.identity}@${a.container}`).sort()).toEqual(["hsm@backups", "retention@backupCopies", "retention@backups"]);
    for (const r of Object.values(roles.azure.customRoles)) expect(r.dataActions.some((d) => d.endsWith("/delete"))).toBe(false);
    // Audit writers are confined to their own prefix.
    for (const a of roles.azure.storageAssignments.filter((x) => x.container === "audit" && x.role === "auditAppender")) expect(a).toHaveProperty("pathPrefix");
    // The vault roles main.bicep creates and assigns are the CLI's.
    for (const key of ["VAULT_ROTATION_ROLE", "VAULT_AUDITOR_ROLE"]) expect(main).toContain(`roles.lifecycleRoles.${key}.name`);
    const vaultRoles = LIFECYCLE_ROLES.filter((r) => r.kind === "vault").map((r) => r.name).sort();
    expect(Object.values(roles.lifecycleRoles).filter((r) => r.kind === "vault").map((r) => r.name).sort()).toEqual(vaultRoles);
    // No role assignment in infra/ is written with a literal role GUID: all come from the JSON.
    for (const f of bicepFiles) expect(read(f), f).not.toMatch(/roleDefinitionId: '[^']*[0-9a-f]{8}-[0-9a-f]{4}/);
  });

  it("the README's storage table and the assignments infra/ makes are the same", () => {
    const readme = read(join(root, "README.md"));
    const section = readme.slice(readme.indexOf("### Storage: per-container roles"));
    const lines = section.split("\n");
    const first = lines.findIndex((l) => l.startsWith("| principal |"));
    const end = lines.findIndex((l, i) => i > first && !l.startsWith("|"));
    const rows = lines.slice(first + 2, end);
    const columns = ["backups", "reports", "audit", "backupCopies", "pacing"];
    const label: Record<string, string> = { "each HSM's managed identity": "hsm" };
    const seen: string[] = [];
    for (const row of rows) {
      const cells = row.split(" | ").map((c) => c.replace(/^\| ?| ?\|$/g, "").trim());
      for (const identity of cells[0]!.split(", ").map((p) => label[p] ?? p)) {
        columns.forEach((container, i) => {
          const cell = cells[i + 1]!;
          const documented = !cell.startsWith("—") || cell.includes(`(${identity}: `);
          const assigned = roles.azure.storageAssignments.some((a) => a.identity === identity && a.container === container);
          expect(documented, `README storage table, ${identity} on ${container}: "${cell}"`).toBe(assigned);
        });
        seen.push(identity);
      }
    }
    expect(seen.sort()).toEqual(["auditor", "backup", "drill", "hsm", "recovery", "retention", "rotation", "steward"]);
  });

  it("HSMs and vaults are inputs: referenced as existing, never declared as new resources", () => {
    for (const f of bicepFiles) {
      for (const m of read(f).matchAll(/resource \w+ '(Microsoft\.KeyVault\/[^@']+)@[^']+'( existing)?/g)) expect(m[2], `${f}: ${m[1]} must be existing`).toBe(" existing");
    }
    expect(read(join(infra, "modules", "hsm.bicep"))).toMatch(/category: 'AuditEvent'/);
    expect(read(join(infra, "modules", "vault.bicep"))).toMatch(/category: 'AuditEvent'/);
  });

  it("the app runs on Flex Consumption with Node.js 22, and the vaults and the topic are subscribed to keyEventGrid", () => {
    const app = read(join(infra, "modules", "functionApp.bicep"));
    expect(app).toMatch(/tier: 'FlexConsumption', name: 'FC1'/);
    expect(app).toMatch(/runtime: \{ name: 'node', version: '22' \}/);
    for (const f of ["vault.bicep", "topicSubscription.bicep"]) expect(read(join(infra, "modules", f))).toContain("/functions/keyEventGrid'");
    expect(read(join(root, "shared", "names.ts"))).toContain('keyEventGrid: "keyEventGrid"');
    const pkg = JSON.parse(read(join(root, "package.json"))) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(">=22");
  });

  it("azure.yaml applies HSM RBAC after provisioning and deploys the package", () => {
    const yaml = read(join(root, "azure.yaml"));
    expect(yaml).toMatch(/postprovision:[\s\S]*run: npm ci && npm run build && node dist\/scripts\/applyHsmRbac\.js/);
    expect(yaml).toMatch(/dist: dist\/package/);
    expect(yaml).toMatch(/run: npm ci && npm run package/);
    // Every output the hook reads is an output of main.bicep.
    for (const k of ["HSMS", "DRILL_PAIRS", "RBAC_PRINCIPAL_IDS", "STORAGE_ACCOUNT_URL", "LIFECYCLE_TOPIC_ENDPOINT"]) expect(main).toMatch(new RegExp(`\\noutput ${k} string`));
  });

  it("the hook's settings hold the HSMs and no vault (vault roles are ARM), and name what is missing", () => {
    const env = { HSMS: "primary=https://p.managedhsm.azure.net", DRILL_PAIRS: "", RBAC_PRINCIPAL_IDS: "rotation=00000000-0000-0000-0000-000000000001", STORAGE_ACCOUNT_URL: "https://s.blob.core.windows.net/", LIFECYCLE_TOPIC_ENDPOINT: "https://t.westeurope-1.eventgrid.azure.net/api/events", VAULTS: "app=https://v.vault.azure.net" };
    const values = hsmRbacSettings(env).Values;
    // A throwaway manifest key (rbac reads no manifest): fresh each run, never the deployment's.
    expect(Buffer.from(values["BACKUP_MANIFEST_KEY"]!, "base64")).toHaveLength(32);
    expect(hsmRbacSettings(env).Values["BACKUP_MANIFEST_KEY"]).not.toBe(values["BACKUP_MANIFEST_KEY"]);
    expect(values).toEqual({ BACKUP_MANIFEST_KEY: values["BACKUP_MANIFEST_KEY"], VAULTS: "", HSMS: env.HSMS, DRILL_PAIRS: "", RBAC_PRINCIPAL_IDS: env.RBAC_PRINCIPAL_IDS, STORAGE_ACCOUNT_URL: env.STORAGE_ACCOUNT_URL, LIFECYCLE_TOPIC_ENDPOINT: env.LIFECYCLE_TOPIC_ENDPOINT });
    expect(rbacCliArgs([], "s.json")).toEqual(["rbac", "apply", "--settings", "s.json", "--credential", "default"]);
    expect(rbacCliArgs(["--dry-run"], "s.json")).toEqual(["rbac", "apply", "--dry-run", "--settings", "s.json", "--credential", "default"]);
    expect(rbacCliArgs(["check", "--json"], "s.json")).toEqual(["rbac", "check", "--json", "--settings", "s.json", "--credential", "default"]);
    expect(() => hsmRbacSettings({ HSMS: "x=https://x" })).toThrow(/no RBAC_PRINCIPAL_IDS, STORAGE_ACCOUNT_URL, LIFECYCLE_TOPIC_ENDPOINT\. Fix: run "azd provision"/);
  });

  it("the CLI accepts the hook's settings: rbac plan (the same settings apply uses) lists the HSMs' roles", async () => {
    const oid = (n: number): string => `00000000-0000-0000-0000-00000000000${n}`;
    const env = { HSMS: "primary=https://p.managedhsm.azure.net,dr=https://d.managedhsm.azure.net", DRILL_PAIRS: "primary=dr", RBAC_PRINCIPAL_IDS: `rotation=${oid(1)},backup=${oid(2)},drill=${oid(3)},steward=${oid(4)},auditor=${oid(5)}`, STORAGE_ACCOUNT_URL: "https://s.blob.core.windows.net/", LIFECYCLE_TOPIC_ENDPOINT: "https://t.westeurope-1.eventgrid.azure.net/api/events" };
    const dir = mkdtempSync(join(tmpdir(), "hook-settings-"));
    try {
      writeFileSync(join(dir, "settings.json"), JSON.stringify(hsmRbacSettings(env)));
      const run = await runCliProcess(["rbac", "plan", "--json", "--settings", join(dir, "settings.json")]);
      expect(run.code, run.stderr).toBe(0);
      const plan = JSON.parse(run.stdout) as { instances: Array<{ name: string; kind: string }> };
      expect(plan.instances.map((i) => `${i.name}:${i.kind}`)).toEqual(["primary:managedHsm", "dr:managedHsm"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
