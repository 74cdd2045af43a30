import type { TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential } from "@azure/identity";
import { loadApprovalSettings } from "../shared/approvals/approvalSettings";
import type { CliArgs } from "./cliArgs";
import type { CliContext } from "./cliContext";
import { LocalStackCredential } from "./localStackCredential";

/**
 * The `Authorization` header that makes the person at the terminal the requester or approver: an Entra token for
 * AUTH_AUDIENCE from `DefaultAzureCredential` (`--credential default`: az login), or on the local stack only
 * (`--as OID`) an emulator token for that object id. The app validates both with the same code
 * (shared/approvals/callerPrincipal.ts); neither is a principal named in a body.
 */
export async function callerHeaders(ctx: CliContext, args: Pick<CliArgs, "as" | "credential">): Promise<Record<string, string>> {
  const { auth } = loadApprovalSettings(process.env);
  if (auth.audience === "") throw new Error("[SettingsInvalid] AUTH_AUDIENCE is not set, so no token can be asked for. Fix: set it to the app registration's Application ID URI.");
  let credential: TokenCredential;
  if (args.as !== undefined) {
    if (!ctx.settings.emulatorMode || auth.emulatorSecretFile === "") {
      throw new Error("[BadParameter] --as is for the local stack only (HSM_EMULATOR=true and AUTH_TOKEN_SECRET_FILE set). Fix: in Azure sign in as yourself and pass --credential default.");
    }
    credential = new LocalStackCredential(auth.emulatorSecretFile, args.as, auth.tenantId);
  } else if (args.credential === "default") {
    credential = new DefaultAzureCredential();
  } else {
    throw new Error("[BadParameter] Requests and decisions are made by a person, not a workflow identity. Fix: pass --credential default (az login), or on the local stack --as OBJECT_ID.");
  }
  const token = await credential.getToken(`${auth.audience.replace(/\/$/, "")}/.default`);
  if (token === null) throw new Error(`[Unauthorized] No token for ${auth.audience}. Fix: az login (or check the credential).`);
  return { authorization: `Bearer ${token.token}` };
}
