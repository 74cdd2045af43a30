import type { ContainerClient } from "@azure/storage-blob";

/**
 * Flips one bit of the sealed key material in the first key blob of a backup folder — storage altered after
 * verification, as an attacker or a fault would — and returns that blob's name. The blob stays valid JSON, so only
 * a digest check (re-verification, the drill's pre-restore check, the HSM's restore) can notice.
 */
export async function alterBackupBlob(container: ContainerClient, folder: string): Promise<string> {
  let victim: string | undefined;
  for await (const b of container.listBlobsFlat({ prefix: `${folder}/keys/` })) {
    victim = b.name;
    break;
  }
  if (victim === undefined) throw new Error(`No key blob in ${folder} to alter.`);
  const blob = container.getBlockBlobClient(victim);
  const envelope = JSON.parse((await blob.downloadToBuffer()).toString("utf8")) as { ciphertext: string };
  const bytes = Buffer.from(envelope.ciphertext, "base64");
  const at = bytes.length >> 1;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  envelope.ciphertext = bytes.toString("base64");
  const text = JSON.stringify(envelope);
  await blob.upload(text, Buffer.byteLength(text));
  return victim;
}
