import { createHash } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { storageFailure } from "../storage/storageFailure";
import { streamText } from "../storage/streamText";

/** A day's reservation answer: granted or not, and the day's count after it. */
export interface GetReservation {
  granted: boolean;
  usedToday: number;
  limit: number;
}

/**
 * The day's count of single-key GETs of one identity, shared by every drill (and any other workflow that opts
 * in) so the total stays under Sentinel's per-identity daily threshold, not just each activity's share.
 */
export interface SingleKeyGetLedger {
  /** Reserves `n` GETs for the UTC day of `at` before they are made; refuses (granted false) past `limit`. */
  reserve(n: number, at: Date): Promise<GetReservation>;
}

/**
 * A ledger in a blob per identity and UTC day (`sentinel-budget/{yyyy-mm-dd}/{identity hash}.json`), updated
 * with ETag conditions so concurrent drills never both spend the last GETs. The identity is hashed: blob names
 * show up in storage logs and need not name principals.
 */
export function blobSingleKeyGetLedger(container: ContainerClient, identity: string, limit: number): SingleKeyGetLedger {
  const who = createHash("sha256").update(identity).digest("hex").slice(0, 32);
  return {
    async reserve(n, at) {
      const blob = container.getBlockBlobClient(`sentinel-budget/${at.toISOString().slice(0, 10)}/${who}.json`);
      for (let attempt = 0; attempt < 8; attempt++) {
        let used = 0;
        let etag: string | undefined;
        try {
          const res = await blob.download();
          etag = res.etag;
          const body = JSON.parse((await streamText(res.readableStreamBody)) || "{}") as { used?: unknown };
          used = typeof body.used === "number" && body.used >= 0 ? body.used : 0;
        } catch (e) {
          if ((e as { statusCode?: number }).statusCode !== 404) throw storageFailure(e, "reading the single-key GET ledger", blob.url);
        }
        if (used + n > limit) return { granted: false, usedToday: used, limit };
        const text = JSON.stringify({ used: used + n, limit });
        try {
          await blob.upload(text, Buffer.byteLength(text), {
            conditions: etag === undefined ? { ifNoneMatch: "*" } : { ifMatch: etag },
            blobHTTPHeaders: { blobContentType: "application/json" },
          });
          return { granted: true, usedToday: used + n, limit };
        } catch (e) {
          const status = (e as { statusCode?: number }).statusCode;
          if (status === 412 || status === 409) continue; // another drill updated it first: re-read and retry
          throw storageFailure(e, "updating the single-key GET ledger", blob.url);
        }
      }
      throw storageFailure(new Error("the ledger kept changing under concurrent updates"), "updating the single-key GET ledger", blob.url);
    },
  };
}
