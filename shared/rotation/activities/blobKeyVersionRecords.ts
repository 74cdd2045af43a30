import type { BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import { canonicalJson } from "../../backup/canonicalJson";
import type { ManifestAuthenticator } from "../../backup/manifestAuthenticator";
import { containerEnsurer } from "../../storage/containerEnsurer";
import { storageFailure } from "../../storage/storageFailure";
import type { KeyVersionRecord, KeyVersionRecords } from "./keyVersionRecords";
import { streamText } from "../../storage/streamText";

/** Leads every MAC input, so a MAC made for a manifest or its state can never pass as a record's. */
const PURPOSE = "hsm-lifecycle key-version record v1";

/** Records larger than this are not ours (an RSA-4096 record is about 1.5 kB). */
const MAX_BYTES = 16 * 1024;

/**
 * `KeyVersionRecords` in Blob Storage (key names lower-cased: Key Vault names are case-insensitive):
 * - `key-versions/{instance}/{key}.json`, `{"record": …, "mac": hex}`. The MAC is an HMAC with the app's
 *   `BACKUP_MANIFEST_KEY` over the instance, the key name and the record, so whoever can write the container (a
 *   storage role, a leaked SAS) cannot plant a public key or a version, nor move one key's record to another:
 *   such a blob is reported as a problem and the rotation reads the key from the service instead.
 * - `key-versions/{instance}/{key}/{fromVersion}.rotate`: the create-only claim of a version's one rotate
 *   (If-None-Match: *). Kept, never deleted (the rotation identity has no delete): one small blob per rotation.
 */
export function blobKeyVersionRecords(container: ContainerClient, auth: ManifestAuthenticator): KeyVersionRecords {
  const ensureContainer = containerEnsurer(container);
  const upload = async (blob: BlockBlobClient, text: string, conditions: { ifNoneMatch?: string }): Promise<void> => {
    await ensureContainer();
    await blob.upload(text, Buffer.byteLength(text), { conditions, blobHTTPHeaders: { blobContentType: "application/json" } });
  };
  const recordBlob = (instance: string, name: string) => container.getBlockBlobClient(`key-versions/${instance}/${name.toLowerCase()}.json`);
  const macParts = (instance: string, name: string, record: KeyVersionRecord) => [PURPOSE, instance, name.toLowerCase(), canonicalJson(record)];
  return {
    async read(instance, name) {
      const blob = recordBlob(instance, name);
      let text: string;
      try {
        const res = await blob.download(0);
        if ((res.contentLength ?? 0) > MAX_BYTES) return { problem: `the record is ${res.contentLength ?? "?"} bytes, more than a record can be` };
        text = await streamText(res.readableStreamBody, MAX_BYTES);
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) return {};
        throw storageFailure(e, "reading the key's version record", blob.url);
      }
      let parsed: { record?: unknown; mac?: unknown };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        return { problem: "the record is not JSON" };
      }
      const record = parsed?.record;
      if (!isRecord(record)) return { problem: "the record has not the shape of one" };
      if (!auth.verify(macParts(instance, name, record), typeof parsed.mac === "string" ? parsed.mac : undefined)) {
        return { problem: "the record's MAC does not match (written by someone without BACKUP_MANIFEST_KEY, or for another key)" };
      }
      return { record };
    },
    async write(instance, name, record) {
      const text = JSON.stringify({ record, mac: auth.mac(macParts(instance, name, record)) });
      const blob = recordBlob(instance, name);
      try {
        await upload(blob, text, {});
      } catch (e) {
        throw storageFailure(e, "writing the key's version record", blob.url);
      }
    },
    async claimRotate(instance, name, fromVersion) {
      // Versions are service-made ids (hex); anything else in a blob path is refused, so the caller reads the key.
      if (!/^[0-9a-z]{1,64}$/i.test(fromVersion)) return false;
      const blob = container.getBlockBlobClient(`key-versions/${instance}/${name.toLowerCase()}/${fromVersion.toLowerCase()}.rotate`);
      const text = JSON.stringify({ claimedAt: new Date().toISOString() });
      try {
        await upload(blob, text, { ifNoneMatch: "*" });
        return true;
      } catch (e) {
        const status = (e as { statusCode?: number }).statusCode;
        // 409: claimed before (If-None-Match: * on an existing blob).
        if (status === 409 || status === 412) return false;
        throw storageFailure(e, "claiming the key version's rotate", blob.url);
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
  return r.rotatedFrom === undefined || typeof r.rotatedFrom === "string";
}
