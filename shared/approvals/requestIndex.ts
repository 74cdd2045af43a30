/**
 * The index of dual-control requests: what `GET /api/requests` lists from, so the listing costs one name listing
 * plus one durable status read per request it shows, whatever else runs in the task hub (rotation, backup and drill
 * instances, thousands a night on a big HSM, are never read). Two small write-once blobs per request under
 * `requests/{id}/` in ROTATION_PACING_CONTAINER, the container the rotation identity (which dual control runs as)
 * already reads and writes without delete, so no grant changes and no index entry can be removed by the app:
 *
 * - `opened.json`: written by the request route BEFORE the request's orchestration starts (no request without it);
 * - `closed.json`: written when the request reaches a final state (rejected, expired, completed, failed).
 *
 * Both are upserted with `If-None-Match: *`: a retry or replay that finds the blob there is done. The names carry all
 * the listing needs (the request id holds its creation time), so the listing reads no blob content.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { containerEnsurer } from "../storage/containerEnsurer";
import { storageFailure } from "../storage/storageFailure";
import type { RequestStatus } from "./requestTypes";

const PREFIX = "requests/";
const REQUEST_ID = /^req-(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})z-[0-9a-f]{6}$/;

/** One request as the index knows it. */
export interface RequestIndexEntry {
  request: string;
  /** When the request was made (from its id, to the second). */
  createdAt: Date;
  /** A final state was recorded for it. */
  closed: boolean;
}

export interface RequestIndex {
  /** Records that the request exists; throws a storage `LifecycleError` if it cannot. */
  opened(request: string, body: { operation: string; requester: string; createdAt: string }): Promise<void>;
  /** Records that the request reached a final state; throws a storage `LifecycleError` if it cannot. */
  closed(request: string, body: { status: RequestStatus; at: string }): Promise<void>;
  /** Every request ever indexed (names only: one listing, 5,000 names a page). */
  list(): Promise<RequestIndexEntry[]>;
}

/** When a request id says it was made, or undefined for a name that is no request id. */
export function requestCreatedAt(request: string): Date | undefined {
  const m = REQUEST_ID.exec(request);
  if (m === null) return undefined;
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export function blobRequestIndex(container: ContainerClient): RequestIndex {
  const ensureContainer = containerEnsurer(container);
  const write = async (request: string, which: "opened" | "closed", body: Record<string, unknown>): Promise<void> => {
    if (requestCreatedAt(request) === undefined) throw new Error(`[BadParameter] "${request}" is not a request id.`);
    const name = `${PREFIX}${request}/${which}.json`;
    const text = JSON.stringify({ request, ...body });
    try {
      await ensureContainer();
      await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text), { conditions: { ifNoneMatch: "*" }, blobHTTPHeaders: { blobContentType: "application/json" } });
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      // Already there: an earlier attempt of the same step wrote it (write-once; never replaced).
      if (status === 409 || status === 412) return;
      throw storageFailure(e, `writing the request index entry (${which})`, `${container.url}/${name}`);
    }
  };
  return {
    opened: (request, body) => write(request, "opened", body),
    closed: (request, body) => write(request, "closed", body),
    async list() {
      const byId = new Map<string, RequestIndexEntry>();
      try {
        for await (const blob of container.listBlobsFlat({ prefix: PREFIX })) {
          const [request, file] = blob.name.slice(PREFIX.length).split("/");
          const createdAt = requestCreatedAt(request ?? "");
          if (request === undefined || createdAt === undefined || (file !== "opened.json" && file !== "closed.json")) continue;
          const entry = byId.get(request) ?? { request, createdAt, closed: false };
          if (file === "closed.json") entry.closed = true;
          byId.set(request, entry);
        }
      } catch (e) {
        // No container yet: no request was ever made.
        if ((e as { statusCode?: number }).statusCode === 404) return [];
        throw storageFailure(e, "listing the request index", `${container.url}/${PREFIX}`);
      }
      return [...byId.values()];
    },
  };
}
