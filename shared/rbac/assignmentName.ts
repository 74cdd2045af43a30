import { createHash } from "node:crypto";

/** A GUID-shaped assignment name (version nibble 5, as name-based UUIDs have), stable for the same inputs. */
export function assignmentName(instance: string, scope: string, roleDefinitionName: string, principalId: string): string {
  const h = createHash("sha256").update(`${instance}|${scope}|${roleDefinitionName.toLowerCase()}|${principalId.toLowerCase()}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
