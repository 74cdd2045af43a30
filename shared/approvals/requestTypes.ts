/**
 * Dual-control requests as they travel through durable history (plain JSON). The request's instance id is the
 * request id; its custom status is what `GET /api/requests` and `hsm-lifecycle requests` show.
 */
import type { OperationRequestData } from "../events/lifecycleEventData";
import type { RotationInstance } from "../rotation/activities/deps";
import type { RotationPolicy } from "../rotation/policyTypes";
import type { OperationName } from "./approvalSettings";
import type { DecisionAction } from "./decideApproval";
import type { Principal, PrincipalList } from "./principalList";

export type RequestStatus = OperationRequestData["status"];

export const EMERGENCY_REASONS = ["compromise", "policy", "other"] as const;
export type EmergencyReason = (typeof EMERGENCY_REASONS)[number];

/** The external event that carries one decision, raised by the decision route after it authenticated the caller. */
export const DECISION_EVENT = "decision";

export interface OperationRequestInput {
  request: string;
  operation: OperationName;
  instance: RotationInstance;
  key: string;
  reason: string;
  ticket: string;
  /** Object id of the authenticated requester. */
  requester: string;
  required: number;
  /**
   * APPROVERS when the request was made: only requests started by earlier versions carry it, for their decisions
   * raised by earlier versions (see DecisionEventData.approvers).
   */
  approverList?: PrincipalList;
  createdAt: string;
  expiresAt: string;
  /** Emergency rotation for compromise: how long the restricted old version stays enabled. */
  compromiseGrace: string;
  /** The rotation policy, for the rule (new version expiry, grace) of an emergency rotation. */
  policy?: RotationPolicy;
  /** Key recovery: restore from this backup folder instead of the newest verified one. */
  backupFolder?: string;
  /** Early disable: the superseded key version to disable. */
  version?: string;
}

export interface DecisionEventData {
  principal: Principal;
  action: DecisionAction;
  /**
   * Set by the decision route of this version: the request checks the decision against APPROVERS as they are now
   * (activity `readApprovers`). Decisions raised by earlier versions (kept in history) lack it and replay against
   * the list their request carried.
   */
  approvers?: "current";
  reason?: string;
  at: string;
}

/** The custom status of a request (and the shape `requests --json` prints). */
export interface RequestView {
  request: string;
  operation: OperationName;
  status: RequestStatus;
  requester: string;
  /** Object ids of the counted approvals, in order. */
  approvers: string[];
  required: number;
  instance: string;
  key: string;
  /** Early disable: the version the approvers approve disabling. */
  version?: string;
  reason: string;
  ticket: string;
  createdAt: string;
  expiresAt: string;
  updatedAt: string;
  rejectedBy?: string;
  rejectReason?: string;
  result?: unknown;
  message?: string;
}
