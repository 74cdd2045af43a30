/**
 * Paged list answers `{value, nextLink}` as the service sends them: `maxresults` 1..25 (default 25),
 * an opaque `$skiptoken` (here: the offset), nextLink absolute on the caller's host, null at the end.
 */
import { keyVaultErrors } from "../errors";
import type { RequestContext } from "./requestContext";

export function pageOf<T>(ctx: RequestContext, path: string, items: T[]): { value: T[]; nextLink: string | null } {
  const maxRaw = ctx.query.get("maxresults");
  let max = 25;
  if (maxRaw !== null && maxRaw !== "") {
    max = Number(maxRaw);
    if (!Number.isInteger(max) || max < 1 || max > 25) throw keyVaultErrors.badParameter(`maxresults must be an integer between 1 and 25 (got ${maxRaw}).`);
  }
  const skipRaw = ctx.query.get("$skiptoken");
  const skip = skipRaw === null || skipRaw === "" ? 0 : Number(skipRaw);
  if (!Number.isInteger(skip) || skip < 0) throw keyVaultErrors.badParameter("$skiptoken is invalid; use the nextLink exactly as returned.");
  const value = items.slice(skip, skip + max);
  const next = skip + max < items.length ? `${ctx.baseUrl}${path}?api-version=${encodeURIComponent(ctx.apiVersion)}&$skiptoken=${skip + max}&maxresults=${max}` : null;
  return { value, nextLink: next };
}
