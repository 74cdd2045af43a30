import type { ContainerClient } from "@azure/storage-blob";
import { canonicalJson } from "../../backup/canonicalJson";
import type { ManifestAuthenticator } from "../../backup/manifestAuthenticator";
import { storageFailure } from "../../storage/storageFailure";
import type { KeyVersionRecord, KeyVersionRecords } from "./keyVersionRecords";

/** Leads every MAC input, so a MAC made for a manifest or its state can never pass as a record's. */
const PURPOSE = "hsm-lifecycle key-version record v1";

/** Records larger than this are not ours (an RSA-4096 record is about 1.5 kB). */
const MAX_BYTES = 16 * 1024;

/**
 * `KeyVersionRecords` in Blob Storage: `key-versions/{instance}/{key}.json` (key names lower-cased: Key Vault
 * names are case-insensitive), `{"record": …, "mac": hex}`. The MAC is an HMAC with the app's
 * `BACKUP_MANIFEST_KEY` over the instance, the key name and the record, so whoever can write the container (a
 * storage role, a leaked SAS) cannot plant a public key or a version, nor move one key's record to another:
 * such a blob is reported as a problem and the rotation reads the key from the service instead.
 * Writes are conditional (If-Match on the ETag read, If-None-Match: * for the first).
 */
export function blobKeyVersionRecords(container: ContainerClient, auth: ManifestAuthenticator): KeyVersionRecords {
  const path = (instance: string, name: string) => `key-versions/${instance}/${name.toLowerCase()}.json`;
  const macOf = (instance: string, name: string, record: KeyVersionRecord) => auth.mac([PURPOSE, instance, name.toLowerCase(), canonicalJson(record)]);
  return {
    async read(instance, name) {
      const blob = container.getBlockBlobClient(path(instance, name));
      let text: string;
      let tag: string | undefined;
      try {
        const res = await blob.download(0);
        tag = res.etag;
        if ((res.contentLength ?? 0) > MAX_BYTES) return { ...(tag === undefined ? {} : { tag }), problem: `the record is ${res.contentLength ?? "?"} bytes, more than a record can be` };
        text = await textOf(res.readableStreamBody);
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) return {};
        throw storageFailure(e, "reading the key's version record", blob.url);
      }
      const withTag = tag === undefined ? {} : { tag };
      let parsed: { record?: unknown; mac?: unknown };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        return { ...withTag, problem: "the record is not JSON" };
      }
      const record = parsed?.record;
      if (!isRecord(record)) return { ...withTag, problem: "the record has not the shape of one" };
      if (!auth.verify([PURPOSE, instance, name.toLowerCase(), canonicalJson(record)], typeof parsed.mac === "string" ? parsed.mac : undefined)) {
        return { ...withTag, problem: "the record's MAC does not match (written by someone without BACKUP_MANIFEST_KEY, or for another key)" };
      }
      return { ...withTag, record };
    },
    async write(instance, name, record, tag) {
      const text = JSON.stringify({ record, mac: macOf(instance, name, record) });
      const blob = container.getBlockBlobClient(path(instance, name));
      const upload = () =>
        blob.upload(text, Buffer.byteLength(text), {
          conditions: tag === undefined ? { ifNoneMatch: "*" } : { ifMatch: tag },
          blobHTTPHeaders: { blobContentType: "application/json" },
        });
      try {
        let res;
        try {
          res = await upload();
        } catch (e) {
          // The deployment makes the container; a local stack may not have yet. Created only when missing (a
          // container-scoped role cannot create one, and then the write below names the cause).
          if ((e as { code?: string }).code !== "ContainerNotFound") throw e;
          await container.createIfNotExists();
          res = await upload();
        }
        return res.etag === undefined ? {} : { tag: res.etag };
      } catch (e) {
        const status = (e as { statusCode?: number }).statusCode;
        // 412: written since the read; 409: created by someone else first (If-None-Match: *).
        if (status === 412 || status === 409) return false;
        throw storageFailure(e, "writing the key's version record", blob.url);
      }
    },
  };
}

function isRecord(v: unknown): v is KeyVersionRecord {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Partial<KeyVersionRecord>;
  const c = r.current as Partial<KeyVersionRecord["current"]> | undefined;
  if (typeof c !== "object" || c === null) return false;
  if (typeof c.keyId !== "string" || typeof c.name !== "string" || typeof c.version !== "string" || typeof c.kty !== "string" || !Array.isArray(c.keyOps)) return false;
  if (r.rotatedFrom !== undefined && typeof r.rotatedFrom !== "string") return false;
  if (r.rotating !== undefined && (typeof r.rotating !== "object" || r.rotating === null || typeof r.rotating.from !== "string")) return false;
  return true;
}

async function textOf(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (stream === undefined) return "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > MAX_BYTES) break;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString("utf8");
}
