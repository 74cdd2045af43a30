import type { TokenCredential } from "@azure/core-auth";
import { LogsIngestionClient } from "@azure/monitor-ingestion";
import type { ContainerClient } from "@azure/storage-blob";
import { LifecycleError } from "../errors/lifecycleError";
import { redactSecrets } from "../errors/redactSecrets";
import { storageFailure } from "../storage/storageFailure";
import { LIFECYCLE_STREAM, LIFECYCLE_TABLE, type LifecycleRow } from "./lifecycleRow";

/** Where lifecycle rows go: Azure Monitor's Logs Ingestion API in Azure, a JSON-lines blob locally. */
export interface LifecycleRowSink {
  readonly kind: "logsIngestion" | "blob";
  send(rows: readonly LifecycleRow[]): Promise<void>;
}

/** Folder of the local row store inside the audit container: one append blob of JSON lines per UTC day. */
export const LOCAL_ROWS_PREFIX = `lifecycle-log/${LIFECYCLE_TABLE}/`;

/**
 * The production sink: the real `LogsIngestionClient` posting to the data collection rule's stream through its
 * data collection endpoint, as the identity holding "Monitoring Metrics Publisher" on that rule.
 */
export function logsIngestionRowSink(target: { endpoint: string; ruleId: string; stream?: string }, credential: TokenCredential): LifecycleRowSink {
  const client = new LogsIngestionClient(target.endpoint, credential);
  const stream = target.stream ?? LIFECYCLE_STREAM;
  return {
    kind: "logsIngestion",
    async send(rows) {
      try {
        await client.upload(target.ruleId, stream, rows.map((r) => ({ ...r })), { maxConcurrency: 1 });
      } catch (e) {
        throw new LifecycleError(
          "StorageUnreachable",
          `Sending ${rows.length} ${LIFECYCLE_TABLE} row(s) to ${target.endpoint} (rule ${target.ruleId}, stream ${stream}) failed: ${redactSecrets((e as Error).message ?? String(e))}. Fix: check LIFECYCLE_LOG_ENDPOINT / LIFECYCLE_LOG_RULE_ID and that the app's identity holds "Monitoring Metrics Publisher" on the data collection rule.`,
        );
      }
    },
  };
}

/**
 * The local sink (no Log Analytics offline): rows appended as JSON lines to `lifecycle-log/HsmLifecycle_CL/{day}.jsonl`
 * in the audit container. Append-only: an append blob's blocks cannot be rewritten, and each row is one block.
 */
export function blobRowSink(container: ContainerClient): LifecycleRowSink {
  return {
    kind: "blob",
    async send(rows) {
      for (const row of rows) {
        const blob = container.getAppendBlobClient(`${LOCAL_ROWS_PREFIX}${row.TimeGenerated.slice(0, 10)}.jsonl`);
        const line = `${JSON.stringify(row)}\n`;
        try {
          await blob.createIfNotExists();
          await blob.appendBlock(line, Buffer.byteLength(line));
        } catch (e) {
          throw storageFailure(e, `appending a ${LIFECYCLE_TABLE} row`, blob.url);
        }
      }
    },
  };
}

let configured: LifecycleRowSink | undefined;

/** Sends every row through `sink` from now on (the app does this once its settings name a data collection rule). */
export function useLifecycleRowSink(sink: LifecycleRowSink | undefined): void {
  configured = sink;
}

/** The configured sink, else the local store beside the audit records in `auditContainer`. */
export function lifecycleRowSinkFor(auditContainer: ContainerClient): LifecycleRowSink {
  return configured ?? blobRowSink(auditContainer);
}

/** Every row of the local store, oldest day first (tests and `hsm-lifecycle evidence` read them). */
export async function readLocalRows(auditContainer: ContainerClient): Promise<LifecycleRow[]> {
  const rows: LifecycleRow[] = [];
  try {
    for await (const b of auditContainer.listBlobsFlat({ prefix: LOCAL_ROWS_PREFIX })) {
      const text = (await auditContainer.getBlobClient(b.name).downloadToBuffer()).toString("utf8");
      for (const line of text.split("\n")) if (line.trim() !== "") rows.push(JSON.parse(line) as LifecycleRow);
    }
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return rows;
    throw storageFailure(e, `reading the local ${LIFECYCLE_TABLE} rows`, auditContainer.url);
  }
  return rows;
}
