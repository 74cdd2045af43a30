import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Verifies an `aeg-sas-token` as Event Grid does: `r=<urlencoded resource>&e=<urlencoded expiry>&s=<urlencoded
 * base64 HMAC-SHA256 over "r=…&e=…" with the base64-decoded topic key>`. The expiry uses the .NET en-US format
 * `M/d/yyyy h:mm:ss tt` (UTC) that `generateSharedAccessSignature` of @azure/eventgrid writes.
 * Returns undefined when valid, else the reason (never the key or the expected signature).
 */
export function verifySasToken(token: string, topicKey: string, endpointPath: string, nowMs: number): string | undefined {
  const parts = new Map<string, string>();
  for (const part of token.split("&")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return "The SAS token is malformed: expected r=…&e=…&s=….";
    parts.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const r = parts.get("r");
  const e = parts.get("e");
  const s = parts.get("s");
  if (r === undefined || e === undefined || s === undefined) return "The SAS token is malformed: r, e and s are all required.";

  let resource: URL;
  try {
    resource = new URL(decodeURIComponent(r));
  } catch {
    return "The SAS token's resource (r) is not a URL.";
  }
  if (resource.pathname.replace(/\/+$/, "") !== endpointPath.replace(/\/+$/, "")) {
    return `The SAS token was issued for ${resource.pathname}, not for this topic endpoint ${endpointPath}.`;
  }
  const expiresOn = parseServiceTime(decodeURIComponent(e));
  if (expiresOn === undefined) return "The SAS token's expiry (e) is not in the M/d/yyyy h:mm:ss tt format.";
  if (expiresOn <= nowMs) return "The SAS token has expired; generate a new one.";

  const expected = createHmac("sha256", Buffer.from(topicKey, "base64")).update(`r=${r}&e=${e}`).digest();
  let given: Buffer;
  try {
    given = Buffer.from(decodeURIComponent(s), "base64");
  } catch {
    return "The SAS token's signature (s) is not base64.";
  }
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return "The SAS token's signature does not match the topic key.";
  }
  return undefined;
}

/** Parses "6/5/2020 12:09:03 PM" (UTC) into epoch milliseconds. */
export function parseServiceTime(text: string): number | undefined {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) (AM|PM)$/.exec(text.trim());
  if (!m) return undefined;
  const [, month, day, year, hour12, minute, second, ampm] = m;
  let hour = Number(hour12) % 12;
  if (ampm === "PM") hour += 12;
  const ms = Date.UTC(Number(year), Number(month) - 1, Number(day), hour, Number(minute), Number(second));
  return Number.isNaN(ms) ? undefined : ms;
}
