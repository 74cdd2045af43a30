import { describe, expect, it } from "vitest";
import { decideApproval } from "../../shared/approvals/decideApproval";
import { isListed, parsePrincipalList } from "../../shared/approvals/principalList";

const REQUESTER = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b00";
const A1 = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b01";
const A2 = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b02";
const GROUP = "9a9a9a9a-0000-4000-8000-000000000001";
const MEMBER = "0b5e0a4b-7d2f-4e61-9a3b-0f6d2c8e1b07";
const approvers = parsePrincipalList("APPROVERS", `${A1}, ${A2.toUpperCase()},group:${GROUP},${REQUESTER}`);
const pending = { status: "pending", requester: REQUESTER, approvers: [] as string[] };

describe("decideApproval", () => {
  it("accepts a listed approver who is not the requester", () => {
    expect(decideApproval(pending, { oid: A1, groups: [] }, "approve", approvers)).toEqual({ kind: "accepted", action: "approve" });
    expect(decideApproval(pending, { oid: A2, groups: [] }, "reject", approvers)).toEqual({ kind: "accepted", action: "reject" });
  });

  it("refuses the requester, even when listed as an approver, in any letter case", () => {
    expect(decideApproval(pending, { oid: REQUESTER.toUpperCase(), groups: [] }, "approve", approvers)).toMatchObject({ kind: "refused", reason: "ownRequest" });
  });

  it("refuses a principal that is not listed, and accepts a member of a listed group", () => {
    expect(decideApproval(pending, { oid: MEMBER, groups: [] }, "approve", approvers)).toMatchObject({ kind: "refused", reason: "notApprover" });
    expect(decideApproval(pending, { oid: MEMBER, groups: [GROUP] }, "approve", approvers)).toEqual({ kind: "accepted", action: "approve" });
  });

  it("counts an approver once", () => {
    expect(decideApproval({ ...pending, approvers: [A1] }, { oid: A1.toUpperCase(), groups: [] }, "approve", approvers)).toEqual({ kind: "duplicate" });
    expect(decideApproval({ ...pending, approvers: [A1] }, { oid: A2, groups: [] }, "approve", approvers)).toEqual({ kind: "accepted", action: "approve" });
  });

  it("refuses every decision on a request that is not pending", () => {
    for (const status of ["approved", "rejected", "expired", "completed", "failed"]) {
      expect(decideApproval({ ...pending, status }, { oid: A1, groups: [] }, "approve", approvers)).toMatchObject({ kind: "refused", reason: "notPending" });
    }
  });
});

describe("principal lists", () => {
  it("reads object ids and group:<id>, and refuses anything else naming the setting", () => {
    expect(approvers.objectIds).toContain(A2);
    expect(approvers.groups).toEqual([GROUP]);
    expect(() => parsePrincipalList("OPERATORS", "alice@example.com")).toThrow(/OPERATORS: "alice@example.com"/);
    expect(() => parsePrincipalList("APPROVERS", "group:nope")).toThrow(/APPROVERS/);
    expect(parsePrincipalList("OPERATORS", "")).toEqual({ objectIds: [], groups: [] });
    expect(isListed({ oid: A1, groups: [] }, parsePrincipalList("OPERATORS", ""))).toBe(false);
  });
});
