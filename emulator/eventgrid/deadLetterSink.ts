import { randomUUID } from "node:crypto";
import { BlobServiceClient } from "@azure/storage-blob";

/** Where undeliverable events go. */
export interface DeadLetterSink {
  /** Writes one blob holding `records` and returns its name inside `container`. */
  write(container: string, sourceName: string, subscriptionName: string, records: readonly object[], atMs: number): Promise<string>;
}

/**
 * Dead-letters into Blob Storage (Azurite locally) at Azure's path:
 * `{TOPIC}/{SUBSCRIPTION}/{yyyy}/{MM}/{dd}/{HH}/{guid}.json`, names upper-cased, body a JSON array.
 */
export function createBlobDeadLetterSink(connectionString: string): DeadLetterSink {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const ensured = new Set<string>();
  return {
    async write(container, sourceName, subscriptionName, records, atMs) {
      const containerClient = service.getContainerClient(container);
      if (!ensured.has(container)) {
        await containerClient.createIfNotExists();
        ensured.add(container);
      }
      const at = new Date(atMs);
      const pad = (n: number): string => String(n).padStart(2, "0");
      const blobName = [
        sourceName.toUpperCase(),
        subscriptionName.toUpperCase(),
        String(at.getUTCFullYear()),
        pad(at.getUTCMonth() + 1),
        pad(at.getUTCDate()),
        pad(at.getUTCHours()),
        `${randomUUID()}.json`,
      ].join("/");
      const body = JSON.stringify(records);
      await containerClient.getBlockBlobClient(blobName).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: "application/json" },
      });
      return blobName;
    },
  };
}
