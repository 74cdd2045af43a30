/**
 * The rules a decision on a request must pass, in one pure function that the HTTP route (for an immediate answer)
 * and the request orchestration (which is what counts) both apply, with APPROVERS as they are at decision time (the
 * route reads the settings, the orchestration the activity `readApprovers`): the request must be pending, the
 * decider must be listed in APPROVERS and must not be the requester, and each approver counts once.
 */
import { isListed, type Principal, type PrincipalList } from "./principalList";

export type DecisionAction = "approve" | "reject";

export interface RequestDecisionState {
  status: string;
  requester: string;
  /** Object ids of the approvals counted so far. */
  approvers: readonly string[];
}

export type DecisionVerdict =
  | { kind: "accepted"; action: DecisionAction }
  /** The same approver again: nothing changes, the approval counted once already. */
  | { kind: "duplicate" }
  | { kind: "refused"; reason: "notPending" | "ownRequest" | "notApprover"; message: string };

export function decideApproval(state: RequestDecisionState, decider: Principal, action: DecisionAction, approvers: PrincipalList): DecisionVerdict {
  if (state.status !== "pending") return { kind: "refused", reason: "notPending", message: `the request is ${state.status}, not pending; decisions are only taken while it waits.` };
  const oid = decider.oid.toLowerCase();
  if (oid === state.requester.toLowerCase()) return { kind: "refused", reason: "ownRequest", message: `${decider.oid} requested this operation and cannot ${action} it: another listed approver must.` };
  if (!isListed(decider, approvers)) return { kind: "refused", reason: "notApprover", message: `${decider.oid} is not listed in APPROVERS (object ids or group:<id>).` };
  if (action === "approve" && state.approvers.some((a) => a.toLowerCase() === oid)) return { kind: "duplicate" };
  return { kind: "accepted", action };
}
