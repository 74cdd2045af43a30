import type { ManifestBlob } from "./backupManifest";

/** One difference between the manifest's blob list and the folder as it is now. */
export interface BlobProblem {
  blob: string;
  problem: "missing" | "unexpected" | "sizeChanged" | "contentChanged";
  detail: string;
}

/**
 * Compares the blobs a manifest recorded with the blobs found now. Pure; every difference is reported
 * (not just the first) so one verification run names everything that is wrong.
 */
export function compareBlobInventory(expected: readonly ManifestBlob[], actual: readonly ManifestBlob[]): BlobProblem[] {
  const found = new Map(actual.map((b) => [b.name, b]));
  const recorded = new Set(expected.map((b) => b.name));
  const problems: BlobProblem[] = [];
  for (const e of expected) {
    const a = found.get(e.name);
    if (a === undefined) {
      problems.push({ blob: e.name, problem: "missing", detail: `blob '${e.name}' is missing` });
    } else if (a.size !== e.size) {
      problems.push({ blob: e.name, problem: "sizeChanged", detail: `blob '${e.name}' has ${a.size} bytes, the manifest recorded ${e.size}` });
    } else if (a.sha256 !== e.sha256) {
      problems.push({ blob: e.name, problem: "contentChanged", detail: `blob '${e.name}' does not match its SHA-256 in the manifest (content changed)` });
    }
  }
  for (const a of actual) {
    if (!recorded.has(a.name)) problems.push({ blob: a.name, problem: "unexpected", detail: `blob '${a.name}' is not in the manifest` });
  }
  return problems.sort((x, y) => (x.blob < y.blob ? -1 : x.blob > y.blob ? 1 : 0));
}
