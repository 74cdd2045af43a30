import { loadApprovalSettings } from "../approvalSettings";
import type { PrincipalList } from "../principalList";

/**
 * Activity `readApprovers`: APPROVERS as the app's settings hold them now. The request orchestration checks each
 * decision against this (its result is in history, so replay sees the same list), the same source the decision
 * route read a moment before: an approver removed after the request no longer counts, one added since does, and a
 * decision event raised around the route cannot bring a list of its own.
 */
export async function readApprovers(env: NodeJS.ProcessEnv = process.env): Promise<PrincipalList> {
  return Promise.resolve(loadApprovalSettings(env).approvers);
}
