/**
 * The line format of a state journal: one line per committed batch,
 * `CRC32HEX JSON\n` where JSON is an array of operations and CRC32 covers the JSON text (UTF-8).
 *
 * Why a checksum per line: a batch is the unit of atomicity. A crash can leave the last line torn (no newline,
 * or bytes that fail the checksum); that batch was never acknowledged, so it is dropped. A bad line with valid
 * lines AFTER it cannot come from a crash of an append-only writer: that is damage, and loading refuses.
 */
import { crc32 } from "node:zlib";

export type JournalOp =
  | { op: "put"; c: string; k: string; v: unknown }
  | { op: "del"; c: string; k: string }
  | { op: "meta"; v: Record<string, unknown> };

/** Serialized operations, built without parsing what is already JSON. */
export const journalOpText = {
  put: (collection: string, key: string, valueJson: string): string => `{"op":"put","c":${JSON.stringify(collection)},"k":${JSON.stringify(key)},"v":${valueJson}}`,
  del: (collection: string, key: string): string => `{"op":"del","c":${JSON.stringify(collection)},"k":${JSON.stringify(key)}}`,
  meta: (metaJson: string): string => `{"op":"meta","v":${metaJson}}`,
};

export function encodeJournalLine(opTexts: readonly string[]): string {
  const body = `[${opTexts.join(",")}]`;
  return `${crc32(body).toString(16).padStart(8, "0")} ${body}\n`;
}

function decodeLine(line: string): JournalOp[] | undefined {
  if (line.length < 10 || line[8] !== " ") return undefined;
  const body = line.slice(9);
  if (crc32(body).toString(16).padStart(8, "0") !== line.slice(0, 8)) return undefined;
  try {
    const ops = JSON.parse(body) as unknown;
    return Array.isArray(ops) ? (ops as JournalOp[]) : undefined;
  } catch {
    return undefined;
  }
}

export interface DecodedJournal {
  batches: JournalOp[][];
  /** Bytes up to the end of the last good line: the file is truncated here when the tail is torn. */
  goodBytes: number;
  /** Bytes after the last good line (a torn last write), 0 when the file ends cleanly. */
  tornBytes: number;
}

export class JournalDamagedError extends Error {
  override name = "JournalDamagedError";
}

export function decodeJournal(data: Buffer, file: string): DecodedJournal {
  const batches: JournalOp[][] = [];
  let pos = 0;
  let firstBad: number | undefined;
  while (pos < data.length) {
    const newline = data.indexOf(0x0a, pos);
    const end = newline < 0 ? data.length : newline;
    const ops = newline < 0 ? undefined : decodeLine(data.subarray(pos, end).toString("utf8"));
    if (ops === undefined) {
      firstBad ??= pos;
    } else if (firstBad !== undefined) {
      throw new JournalDamagedError(
        `State journal ${file} is damaged at byte ${firstBad}: a record there fails its checksum but valid records follow, so it is not a torn last write from a crash. ` +
          `Restore the state dir from a copy, or move ${file} aside to start from the last snapshot (changes recorded after the snapshot are then lost).`,
      );
    } else {
      batches.push(ops);
    }
    pos = end + 1;
  }
  const goodBytes = firstBad ?? data.length;
  return { batches, goodBytes, tornBytes: data.length - goodBytes };
}
