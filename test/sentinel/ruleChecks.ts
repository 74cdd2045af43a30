/**
 * Checks a Microsoft Sentinel analytic rule (Azure-Sentinel's YAML format) against log rows, without a Log Analytics
 * workspace: which columns the rule's KQL reads, whether the rows have them, and which rows its simple `where`
 * filters keep.
 *
 *   const result = checkRule("sentinel/rules/ManagedHsmKeyPurge.yaml", { AzureDiagnostics: rows }, { constants: { Threshold: 3 } });
 *   result.unknownColumns   // names the query reads that no table (nor the query itself) defines: must be []
 *   result.ifExistsColumns  // column_ifexists("X", …) names: X must be a column of the rows, or the rule reads a default
 *   result.kept             // the rows of the query's source table that pass every filter evaluated
 *   result.unevaluated      // filters left to the workspace (time windows, joins, computed columns), as text
 *
 * Column reads are found by Microsoft's Kusto analyser (@kusto/language-service-next) with each table's schema taken
 * from the rows given (a column is one some row has), so a misspelt or missing column is an error, as in Log
 * Analytics. Filters are evaluated here only for the forms rules use on raw columns — ==, =~, !=, !~, in, in~, !in,
 * !in~, has, contains, startswith, <, <=, >, >=, and/or/not(), isempty/isnotempty — with literals and `let` constants;
 * a filter with anything else is reported in `unevaluated`, never guessed. Only filters in the pipe directly after
 * the named source table are evaluated (later ones see summarized rows).
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { analyzeKql, descendants, diagnosticsOf, kindName, parseKql, type ColumnType, type KustoNode } from "./kustoLanguage";

export type Row = Record<string, unknown>;

export interface SentinelRule {
  id: string;
  name: string;
  query: string;
  queryFrequency: string;
  queryPeriod: string;
  triggerOperator: string;
  triggerThreshold: number;
  kind: string;
  [field: string]: unknown;
}

export interface RuleCheck {
  rule: SentinelRule;
  unknownColumns: string[];
  ifExistsColumns: string[];
  /** The `let NAME = literal;` constants of the query (numbers, strings, dynamic arrays). */
  constants: Record<string, unknown>;
  kept: Row[];
  evaluated: string[];
  unevaluated: string[];
}

const REQUIRED = ["id", "name", "description", "severity", "requiredDataConnectors", "queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold", "tactics", "query", "entityMappings", "version", "kind"];

export function loadRule(file: string): SentinelRule {
  const doc = parse(readFileSync(file, "utf8")) as Record<string, unknown> | null;
  if (doc === null || typeof doc !== "object") throw new Error(`${file}: not a YAML mapping.`);
  const missing = REQUIRED.filter((f) => doc[f] === undefined);
  if (missing.length > 0) throw new Error(`${file}: missing ${missing.join(", ")} (Azure-Sentinel analytic rule format).`);
  if (typeof doc["query"] !== "string") throw new Error(`${file}: query must be a string.`);
  return doc as SentinelRule;
}

export interface CheckOptions {
  /** The table whose rows the filters are applied to (default AzureDiagnostics). */
  source?: string;
  /** Values for the rule's `let` constants, as a deployment would set its parameters (e.g. the drill identity's id). */
  constants?: Record<string, unknown>;
}

/** Checks `ruleFile` against `tables` (table name → rows). */
export function checkRule(ruleFile: string, tables: Record<string, Row[]>, options: CheckOptions = {}): RuleCheck {
  const source = options.source ?? "AzureDiagnostics";
  const rule = loadRule(ruleFile);
  const schemas: Record<string, Record<string, ColumnType>> = {};
  for (const [table, rows] of Object.entries(tables)) schemas[table] = schemaOf(rows);
  const analysed = analyzeKql(rule.query, schemas);
  const unknownColumns = diagnosticsOf(analysed)
    .filter((d) => d.code === "KS142")
    .map((d) => /'([^']+)'/.exec(d.message)?.[1] ?? d.message);
  const syntaxErrors = diagnosticsOf(parseKql(rule.query)).map((d) => `${d.code} ${d.message}`);
  if (syntaxErrors.length > 0) throw new Error(`${ruleFile}: the query does not parse: ${syntaxErrors.join("; ")}`);

  const nodes = descendants(analysed.Syntax);
  const ifExistsColumns = nodes
    .filter((n) => kindName(n) === "FunctionCallExpression" && text(n).startsWith("column_ifexists"))
    .map((n) => /column_ifexists\s*\(\s*["']([^"']+)["']/.exec(text(n))?.[1])
    .filter((c): c is string => c !== undefined);
  const constants = constantsOf(nodes);
  for (const [name, value] of Object.entries(options.constants ?? {})) {
    if (!(name in constants)) throw new Error(`${ruleFile}: no let constant ${name} to set; it has ${Object.keys(constants).join(", ")}.`);
    constants[name] = value;
  }
  const filters = filtersAfter(nodes, source);
  const evaluated: string[] = [];
  const unevaluated: string[] = [];
  const predicates: Array<(row: Row) => boolean> = [];
  for (const f of filters) {
    try {
      predicates.push(compile(f, constants));
      evaluated.push(text(f));
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      unevaluated.push(text(f));
    }
  }
  const kept = (tables[source] ?? []).filter((row) => predicates.every((p) => p(row)));
  return { rule, unknownColumns: [...new Set(unknownColumns)], ifExistsColumns: [...new Set(ifExistsColumns)], constants, kept, evaluated, unevaluated };
}

/** Column types from the rows: TimeGenerated and *DateTime columns are datetimes (rows carry ISO strings). */
function schemaOf(rows: Row[]): Record<string, ColumnType> {
  const out: Record<string, ColumnType> = {};
  for (const row of rows)
    for (const [c, v] of Object.entries(row)) {
      if (out[c] !== undefined) continue;
      out[c] =
        c === "TimeGenerated" || c.endsWith("DateTime")
          ? "datetime"
          : typeof v === "number"
            ? "real"
            : typeof v === "boolean"
              ? "bool"
              : typeof v === "object" && v !== null
                ? "dynamic"
                : "string";
    }
  return out;
}

function text(n: KustoNode): string {
  return n.toString().trim();
}

function children(n: KustoNode): KustoNode[] {
  const out: KustoNode[] = [];
  for (let i = 0; i < n.ChildCount; i++) {
    const c = n.GetChild(i);
    if (c !== null) out.push(c);
  }
  return out;
}

/** Children that carry meaning (tokens such as keywords and parentheses left out). */
function parts(n: KustoNode): KustoNode[] {
  return children(n).filter((c) => !/Token$|Keyword$/.test(kindName(c)));
}

class Unsupported extends Error {}

function constantsOf(nodes: KustoNode[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of nodes) {
    if (kindName(n) !== "LetStatement") continue;
    const [decl, value] = parts(n);
    if (decl === undefined || value === undefined) continue;
    try {
      out[text(decl)] = literal(value, out);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
    }
  }
  return out;
}

function literal(n: KustoNode, constants: Record<string, unknown>): unknown {
  const k = kindName(n);
  const t = text(n);
  if (k === "StringLiteralExpression") return stringValue(t);
  if (k === "LongLiteralExpression" || k === "RealLiteralExpression" || k === "IntLiteralExpression") return Number(t);
  if (k === "BooleanLiteralExpression") return t === "true";
  if (["DynamicExpression", "JsonArrayExpression", "ParenthesizedExpression", "ExpressionList", "List", "SeparatedElement"].includes(k)) {
    const inner = descendants(n).filter((d) => d !== n && ["StringLiteralExpression", "LongLiteralExpression", "RealLiteralExpression", "NameReference"].includes(kindName(d)));
    return inner.map((d) => (kindName(d) === "NameReference" ? constantOrThrow(text(d), constants) : literal(d, constants))).flat();
  }
  if (k === "NameReference") return constantOrThrow(t, constants);
  throw new Unsupported(t);
}

function constantOrThrow(name: string, constants: Record<string, unknown>): unknown {
  if (!(name in constants)) throw new Unsupported(name);
  return constants[name];
}

function stringValue(t: string): string {
  const raw = t.replace(/^@/, "");
  const quote = raw[0];
  const body = raw.slice(1, -1);
  return quote === '"' ? (JSON.parse(`"${body}"`) as string) : body.replace(/\\'/g, "'");
}

/** The `where` conditions of the pipe that starts at table `source` (the first pipe segments only). */
function filtersAfter(nodes: KustoNode[], source: string): KustoNode[] {
  const out: KustoNode[] = [];
  for (const pipe of nodes.filter((n) => kindName(n) === "PipeExpression")) {
    // A pipe chain nests to the left: ((Source | a) | b) | c. Walk down to its source.
    const chain: KustoNode[] = [];
    let cur: KustoNode | undefined = pipe;
    while (cur !== undefined && kindName(cur) === "PipeExpression") {
      const [left, op] = parts(cur);
      if (op !== undefined) chain.unshift(op);
      cur = left;
    }
    if (cur === undefined || kindName(cur) !== "NameReference" || text(cur) !== source) continue;
    // Inner PipeExpressions are prefixes of the outer chain: the same filters again, removed by the Set below.
    for (const op of chain) {
      const k = kindName(op);
      if (k === "FilterOperator") out.push(condition(op) as KustoNode);
      else if (k !== "ExtendOperator" && k !== "AsOperator") break; // rows change shape (summarize, project, join…)
    }
  }
  return [...new Set(out)];
}

function condition(filter: KustoNode): KustoNode | undefined {
  return parts(filter).at(-1);
}

const COMPARISONS: Record<string, (a: unknown, b: unknown) => boolean> = {
  EqualExpression: (a, b) => a === b,
  NotEqualExpression: (a, b) => a !== b,
  EqualTildeExpression: (a, b) => lower(a) === lower(b),
  BangTildeExpression: (a, b) => lower(a) !== lower(b),
  HasExpression: (a, b) => new RegExp(`(^|[^a-z0-9])${escape(lower(b))}($|[^a-z0-9])`).test(lower(a)),
  ContainsExpression: (a, b) => lower(a).includes(lower(b)),
  StartsWithExpression: (a, b) => lower(a).startsWith(lower(b)),
  LessThanExpression: (a, b) => Number(a) < Number(b),
  LessThanOrEqualExpression: (a, b) => Number(a) <= Number(b),
  GreaterThanExpression: (a, b) => Number(a) > Number(b),
  GreaterThanOrEqualExpression: (a, b) => Number(a) >= Number(b),
};

function lower(v: unknown): string {
  return String(v ?? "").toLowerCase();
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function compile(n: KustoNode, constants: Record<string, unknown>): (row: Row) => boolean {
  const k = kindName(n);
  const p = parts(n);
  if (k === "ParenthesizedExpression") return compile(p[0] as KustoNode, constants);
  if (k === "AndExpression" || k === "OrExpression") {
    const [a, b] = [compile(p[0] as KustoNode, constants), compile(p[1] as KustoNode, constants)];
    return k === "AndExpression" ? (r) => a(r) && b(r) : (r) => a(r) || b(r);
  }
  if (k === "FunctionCallExpression") {
    const name = text(p[0] as KustoNode);
    const args = descendants(n).filter((d) => kindName(d) === "SeparatedElement" && descendants(d).length > 1).map((d) => parts(d)[0] as KustoNode);
    const arg = args[0];
    if (arg === undefined) throw new Unsupported(text(n));
    if (name === "not") {
      const inner = compile(arg, constants);
      return (r) => !inner(r);
    }
    if (name === "isempty" || name === "isnotempty") {
      const v = value(arg, constants);
      return name === "isempty" ? (r) => lower(v(r)) === "" : (r) => lower(v(r)) !== "";
    }
    throw new Unsupported(text(n));
  }
  const compare = COMPARISONS[k];
  if (compare !== undefined) {
    const [a, b] = [value(p[0] as KustoNode, constants), value(p[1] as KustoNode, constants)];
    return (r) => compare(a(r), b(r));
  }
  if (k === "InExpression" || k === "InCsExpression" || k === "NotInExpression" || k === "NotInCsExpression") {
    // Kusto's syntax kinds: InExpression is `in~` (case-insensitive), InCsExpression is `in` (case-sensitive).
    const keyword = children(n).map((c) => text(c)).find((t) => /^!?in~?$/.test(t)) ?? "";
    const caseless = keyword.endsWith("~");
    const negate = keyword.startsWith("!");
    const a = value(p[0] as KustoNode, constants);
    const list = literal(p[1] as KustoNode, constants);
    if (!Array.isArray(list)) throw new Unsupported(text(n));
    const set = new Set(list.map((v) => (caseless ? lower(v) : String(v))));
    return (r) => set.has(caseless ? lower(a(r)) : String(a(r))) !== negate;
  }
  throw new Unsupported(text(n));
}

function value(n: KustoNode, constants: Record<string, unknown>): (row: Row) => unknown {
  const k = kindName(n);
  if (k === "NameReference") {
    const name = text(n);
    if (name in constants) return () => constants[name];
    // A row without the column reads it as empty, as in a workspace table; a column no row has is in unknownColumns.
    return (r) => r[name];
  }
  if (k === "ParenthesizedExpression") return value(parts(n)[0] as KustoNode, constants);
  const v = literal(n, constants);
  return () => v;
}
