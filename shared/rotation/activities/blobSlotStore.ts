import type { ContainerClient } from "@azure/storage-blob";
import { containerEnsurer } from "../../storage/containerEnsurer";
import { storageFailure } from "../../storage/storageFailure";
import type { SlotStore } from "./createPacer";
import { streamText } from "../../storage/streamText";

/**
 * A `SlotStore` in Blob Storage: one small blob per instance (`{instance}.json`, `{"nextAt": epoch ms}`),
 * written only with If-Match on the ETag read (If-None-Match: * for the first), so two workers can never
 * both claim the same slot. Shared by every worker of the app, which an in-process limiter is not.
 */
export function blobSlotStore(container: ContainerClient): SlotStore {
  const ensureContainer = containerEnsurer(container);
  const blobOf = (instance: string) => container.getBlockBlobClient(`${instance}.json`);
  return {
    async read(instance) {
      try {
        // One request: the body and the ETag it had, so the conditional write matches exactly what was read.
        const res = await blobOf(instance).download(0);
        const nextAt = Number((JSON.parse(res.readableStreamBody === undefined ? "{}" : await streamText(res.readableStreamBody)) as { nextAt?: unknown }).nextAt);
        return { nextAt: Number.isFinite(nextAt) ? nextAt : 0, ...(res.etag === undefined ? {} : { tag: res.etag }) };
      } catch (e) {
        const status = (e as { statusCode?: number }).statusCode;
        if (status === 404) return { nextAt: 0 };
        throw storageFailure(e, "reading the key-creation slot", `${container.url}/${instance}.json`);
      }
    },
    async write(instance, nextAt, tag) {
      const text = JSON.stringify({ nextAt });
      const conditions = tag === undefined ? { ifNoneMatch: "*" } : { ifMatch: tag };
      try {
        await ensureContainer();
        const res = await blobOf(instance).upload(text, Buffer.byteLength(text), { conditions, blobHTTPHeaders: { blobContentType: "application/json" } });
        return res.etag === undefined ? {} : { tag: res.etag };
      } catch (e) {
        const status = (e as { statusCode?: number }).statusCode;
        // 412: someone wrote since the read; 409: someone created it first (If-None-Match: *).
        if (status === 412 || status === 409) return false;
        throw storageFailure(e, "claiming a key-creation slot", `${container.url}/${instance}.json`);
      }
    },
  };
}
