/**
 * What `rbac plan|apply|check` and `status` need for RBAC: the plan from the settings, and the connection (every
 * HSM and vault URL, the administrator's credential, the emulator CA when set).
 */
import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import type { RbacConnection } from "../rbac/rbacApply";
import { buildRbacPlan, type RbacPlan } from "../rbac/rbacPlan";
import type { FleetContext } from "./fleetContext";

export function rbacPlanOf(ctx: FleetContext): RbacPlan {
  const s = ctx.settings;
  return buildRbacPlan({ hsms: s.hsms.map((h) => ({ name: h.name, role: h.role === "drillTarget" ? "drillTarget" : "primary" })), vaults: s.vaults, drillPairs: s.drillPairs, rbacPrincipals: s.rbacPrincipals });
}

/** The administrator's credential: `--credential default` (a person signed in), else RBAC_ADMIN_CLIENT_ID's managed identity. */
export function rbacAdminCredential(ctx: FleetContext, kind: "managed-identity" | "default"): TokenCredential {
  if (kind === "default") return new DefaultAzureCredential();
  const clientId = ctx.settings.rbacAdminClientId;
  if (clientId === undefined) {
    throw new Error("[SettingsInvalid] RBAC needs an administrator's credential and RBAC_ADMIN_CLIENT_ID is empty. Fix: run with --credential default (signed in as an HSM administrator), or set RBAC_ADMIN_CLIENT_ID to the client id of an administrator's managed identity.");
  }
  return new ManagedIdentityCredential({ clientId });
}

export function rbacConnection(ctx: FleetContext, credential: TokenCredential): RbacConnection {
  const urls: Record<string, string> = {};
  for (const i of [...ctx.settings.hsms, ...ctx.settings.vaults]) urls[i.name] = i.url;
  return { urls, credential, clientOptions: ctx.ca === undefined ? {} : { tlsOptions: { ca: ctx.ca }, disableChallengeResourceVerification: true } };
}
