/**
 * What a dry run must leave unchanged on the local stack: every blob (name, etag, metadata) in the stack's
 * containers and the emulator's audit log, whose new records must all be reads.
 */
import { BlobServiceClient } from "@azure/storage-blob";
import { expect } from "vitest";
import type { LocalStack } from "../../dev/localStack";
import { STACK_CONTAINERS } from "../../dev/stackSettings";
import { rawHttpsRequest } from "./emulator";

/** Operations that only read (Managed HSM / Key Vault audit operation names). */
export const READ_OPERATIONS = new Set(["KeyList", "KeyListVersions", "KeyGet", "KeyListDeleted", "KeyGetDeleted", "KeyRotationPolicyGet", "RoleDefinitionList", "RoleDefinitionGet", "RoleAssignmentList", "RoleAssignmentGet", "BackupStatus", "RestoreStatus", "Authentication"]);

export async function auditOf(stack: LocalStack, instanceUrl: string): Promise<Array<{ operationName: string; time: string }>> {
  const res = await rawHttpsRequest(stack.caPem, `${instanceUrl}/_emulator/audit`, "GET");
  expect(res.status).toBe(200);
  return (JSON.parse(res.text) as { value: Array<{ operationName: string; time: string }> }).value;
}

export async function blobSnapshot(stack: LocalStack): Promise<string[]> {
  const service = BlobServiceClient.fromConnectionString(stack.storageConnectionString);
  const out: string[] = [];
  for (const container of Object.values(STACK_CONTAINERS)) {
    for await (const b of service.getContainerClient(container).listBlobsFlat({ includeMetadata: true })) {
      out.push(`${container}/${b.name} ${b.properties.etag ?? ""} ${JSON.stringify(b.metadata ?? {})}`);
    }
  }
  return out.sort();
}
