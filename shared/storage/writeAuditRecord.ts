import type { ContainerClient } from "@azure/storage-blob";
import { LifecycleError } from "../errors/lifecycleError";
import { redactSecrets } from "../errors/redactSecrets";
import { lifecycleRowOf } from "../lifecycleLog/lifecycleRow";
import { lifecycleRowSinkFor } from "../lifecycleLog/lifecycleRowSink";
import { storageFailure } from "./storageFailure";

/**
 * `written`: this call stored the record; `unchanged`: an earlier attempt of the same activity already had;
 * `taken`: a record is already at that name and this identity may only append (its role has no read, by design),
 * so it cannot compare: almost always an earlier attempt whose answer was lost, counted as done (retrying could
 * never change it) and named in the logs so someone who can read compares it.
 */
export type AuditWrite = "written" | "unchanged" | "taken";

/**
 * Writes one audit record, write-once: the upload carries `If-None-Match: *`, so an existing record is never
 * replaced — not by a retry, a clock collision, nor anyone who can write to the container but should not be able
 * to rewrite history. When the name is taken, the stored record is read: if it is this same record (equal apart
 * from `recordedAt`, i.e. an earlier attempt of the same activity) the write counts as done; otherwise it fails
 * with a `Conflict` naming the blob, and the original stays. The text is redacted first (records quote service
 * messages). Storage failures are `storageFailure`s.
 *
 * Beside the blob, the same (redacted) record goes out as one `HsmLifecycle_CL` row (Logs Ingestion API in Azure,
 * a local JSON-lines store otherwise), from here only, so no record reaches one and not the other: the row is sent
 * after the blob is stored, also when an earlier attempt stored it (that attempt may have died before its row),
 * so a row is sent at least once; its `RecordId` (the blob name) tells a repeat apart. A failed send throws, and
 * the activity's retry sends it again.
 */
export async function writeAuditRecord(container: ContainerClient, blobName: string, record: Record<string, unknown>, contentType = "application/json"): Promise<AuditWrite> {
  const text = redactSecrets(JSON.stringify(record, null, 2));
  const where = `${container.url.split("?")[0] ?? ""}/${blobName}`;
  const written = await storeOnce(container, blobName, text, contentType, where);
  await lifecycleRowSinkFor(container).send([lifecycleRowOf(blobName, JSON.parse(text) as Record<string, unknown>)]);
  return written;
}

async function storeOnce(container: ContainerClient, blobName: string, text: string, contentType: string, where: string): Promise<AuditWrite> {
  const blob = container.getBlockBlobClient(blobName);
  const upload = (): Promise<unknown> => blob.upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: contentType }, conditions: { ifNoneMatch: "*" } });
  try {
    // The container is created only when it is missing: in Azure the deployment makes it and the writing identity
    // holds a container-scoped role with a path condition, which may not allow creating containers at all.
    try {
      await upload();
    } catch (e) {
      if (!isContainerMissing(e)) throw e;
      await container.createIfNotExists();
      await upload();
    }
    return "written";
  } catch (e) {
    if (!isAlreadyThere(e)) throw storageFailure(e, "writing an audit record", where);
  }
  let existing: unknown;
  try {
    existing = JSON.parse((await blob.downloadToBuffer()).toString("utf8"));
  } catch (e) {
    if (e instanceof SyntaxError) existing = undefined;
    else if ((e as { statusCode?: number }).statusCode === 403) return "taken";
    else throw storageFailure(e, "reading the audit record already at that name", where);
  }
  if (sameRecord(existing, JSON.parse(text))) return "unchanged";
  throw new LifecycleError(
    "Conflict",
    `The audit record ${where} already exists with different content; audit records are write-once, so the original is kept and this record was not written. Find out who wrote the existing blob (storage logs), then re-run.`,
  );
}

function isContainerMissing(e: unknown): boolean {
  const err = e as { statusCode?: number; code?: string; details?: { errorCode?: string } };
  return err.statusCode === 404 && (err.code === "ContainerNotFound" || err.details?.errorCode === "ContainerNotFound");
}

function isAlreadyThere(e: unknown): boolean {
  const err = e as { statusCode?: number; code?: string; details?: { errorCode?: string } };
  return err.statusCode === 409 || err.statusCode === 412 || err.code === "BlobAlreadyExists" || err.details?.errorCode === "BlobAlreadyExists";
}

function sameRecord(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return false;
  const strip = (r: object): string => JSON.stringify({ ...r, recordedAt: undefined });
  return strip(a) === strip(b);
}
