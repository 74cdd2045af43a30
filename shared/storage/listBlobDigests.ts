import { createHash } from "node:crypto";
import type { ContainerClient } from "@azure/storage-blob";
import { storageFailure } from "./storageFailure";

/** A blob's name (relative to the container), size and SHA-256 (hex) of its bytes. */
export interface BlobDigest {
  name: string;
  size: number;
  sha256: string;
}

/**
 * Lists every blob under `prefix` and hashes each one by streaming it (a backup blob is never held in memory
 * whole). The size is the number of bytes actually read, so a listing that disagrees with the content shows.
 */
export async function listBlobDigests(container: ContainerClient, prefix: string): Promise<BlobDigest[]> {
  const out: BlobDigest[] = [];
  let name = prefix;
  try {
    for await (const item of container.listBlobsFlat({ prefix })) {
      name = item.name;
      out.push({ name: item.name, ...(await hashBlob(container, item.name)) });
    }
  } catch (e) {
    throw storageFailure(e, "hashing the backup blobs", `${container.url}/${name}`);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function hashBlob(container: ContainerClient, name: string): Promise<{ size: number; sha256: string }> {
  const response = await container.getBlobClient(name).download();
  const hash = createHash("sha256");
  let size = 0;
  const body = response.readableStreamBody;
  if (body) {
    for await (const chunk of body) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      size += bytes.length;
      hash.update(bytes);
    }
  }
  return { size, sha256: hash.digest("hex") };
}
