/**
 * What a Sentinel rule's KQL reads from its table, without a KQL engine: the columns (every capitalised identifier
 * outside string literals that the query does not define itself with `let`, `X =` or `as`) and the literal values
 * it compares columns with (`Col == "v"`, `Col in ("a", "b")`). Enough to catch a rule that reads a column the table
 * lacks or expects a value the app never writes.
 */
export interface KqlComparison {
  column: string;
  values: string[];
}

const withoutStrings = (q: string): string => q.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');

export function kqlDefinedNames(query: string): Set<string> {
  const q = withoutStrings(query);
  const names = new Set<string>();
  for (const m of q.matchAll(/\blet\s+([A-Za-z_]\w*)\s*=/g)) names.add(m[1]!);
  for (const m of q.matchAll(/\b([A-Za-z_]\w*)\s*=(?!=)/g)) names.add(m[1]!);
  for (const m of q.matchAll(/\bas\s+([A-Za-z_]\w*)/g)) names.add(m[1]!);
  return names;
}

/** Columns of `table` the query reads. */
export function kqlColumnsRead(query: string, table: string): string[] {
  const q = withoutStrings(query).replace(/\/\/.*$/gm, "");
  const defined = kqlDefinedNames(query);
  const columns = new Set<string>();
  for (const m of q.matchAll(/\b([A-Z]\w*)\b/g)) {
    const name = m[1]!;
    if (name === table || defined.has(name)) continue;
    columns.add(name);
  }
  return [...columns].sort();
}

/** `Column == "value"` and `Column in ("a", "b")` comparisons, with their literal values. */
export function kqlComparisons(query: string): KqlComparison[] {
  const out: KqlComparison[] = [];
  for (const m of query.matchAll(/\b([A-Z]\w*)\s*==\s*"([^"]*)"/g)) out.push({ column: m[1]!, values: [m[2]!] });
  for (const m of query.matchAll(/\b([A-Z]\w*)\s+in\s*\(([^)]*)\)/g)) out.push({ column: m[1]!, values: [...m[2]!.matchAll(/"([^"]*)"/g)].map((v) => v[1]!) });
  return out;
}
