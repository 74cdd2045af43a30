/**
 * Replaces a file so that a crash at any instant leaves either the old or the new complete content, and the
 * new content survives power loss once this returns: temp file in the same directory, fsync, rename over the
 * target (atomic on POSIX), fsync of the directory (so the rename itself is on disk).
 */
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

let counter = 0;

function tempPathFor(path: string): string {
  return join(dirname(path), `${basename(path)}.tmp-${process.pid}-${counter++}`);
}

/** fsync of a directory: makes a create, rename or unlink in it durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function replaceFileDurablySync(path: string, text: string): void {
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDirectory(dirname(path));
}

/** The same without blocking the event loop while the disk works (large files). */
export async function replaceFileDurably(path: string, text: string): Promise<void> {
  const tmp = tempPathFor(path);
  const handle = await open(tmp, "w", 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  fsyncDirectory(dirname(path));
}
