import { orchestrationNames } from "../names";
import type { OperationRequestInput, RequestView } from "./requestTypes";

/** The listed view of one request instance (its custom status), or undefined for another orchestration. */
export function requestViewOf(status: { name?: string; runtimeStatus?: string; customStatus?: unknown; input?: unknown; instanceId?: string } | undefined): RequestView | undefined {
  if (status?.name !== orchestrationNames.operationRequest) return undefined;
  // Started but not yet run its first step: the request as its input states it (pending, no approvals).
  const view = (status.customStatus ?? pendingViewOf(status.input)) as RequestView | null | undefined;
  if (view === null || view === undefined || typeof view !== "object" || typeof view.request !== "string") return undefined;
  // An orchestration that crashed or was terminated did not reach its own end: it failed.
  if (status.runtimeStatus === "Failed" || status.runtimeStatus === "Terminated") return { ...view, status: view.status === "completed" ? "completed" : "failed" };
  return view;
}

function pendingViewOf(input: unknown): RequestView | undefined {
  const i = input as OperationRequestInput | null | undefined;
  if (i === null || i === undefined || typeof i !== "object" || typeof i.request !== "string") return undefined;
  return {
    request: i.request,
    operation: i.operation,
    status: "pending",
    requester: i.requester,
    approvers: [],
    required: i.required,
    instance: i.instance.name,
    key: i.key,
    ...(i.version === undefined ? {} : { version: i.version }),
    reason: i.reason,
    ticket: i.ticket,
    createdAt: i.createdAt,
    expiresAt: i.expiresAt,
    updatedAt: i.createdAt,
  };
}
