/**
 * Microsoft's Kusto language service (@kusto/language-service-next, the parser and semantic analyser behind Azure Data
 * Explorer and Log Analytics editors), loaded once. It is a Bridge.NET build that installs itself as globals, so it is
 * required (not imported) and reached through the few members the rule checks use, typed here.
 */
import { createRequire } from "node:module";

export interface KustoNode {
  Kind: number;
  ChildCount: number;
  GetChild(i: number): KustoNode | null;
  toString(): string;
}

interface KustoDiagnostic {
  Code: string;
  Message: string;
}

interface KustoList<T> {
  Count: number;
  getItem(i: number): T;
}

export interface KustoCodeApi {
  Syntax: KustoNode;
  GetDiagnostics(): KustoList<KustoDiagnostic>;
}

let kusto: any;
let system: any;

function load(): void {
  if (kusto !== undefined) return;
  const require = createRequire(__filename);
  require("@kusto/language-service-next/bridge.js");
  require("@kusto/language-service-next/Kusto.Language.Bridge.js");
  kusto = (globalThis as any).Kusto.Language;
  system = (globalThis as any).System;
}

/** The name of a syntax node's kind (FilterOperator, EqualTildeExpression, NameReference…). */
export function kindName(node: KustoNode): string {
  load();
  return String(system.Enum.toString(kusto.Syntax.SyntaxKind, node.Kind));
}

export function parseKql(query: string): KustoCodeApi {
  load();
  return kusto.KustoCode.Parse(query) as KustoCodeApi;
}

export type ColumnType = "string" | "real" | "long" | "bool" | "datetime" | "dynamic";

/** Parses and analyses `query` against the named tables and their column types. */
export function analyzeKql(query: string, tables: Record<string, Record<string, ColumnType>>): KustoCodeApi {
  load();
  const sym = kusto.Symbols;
  const tableSymbols = Object.entries(tables).map(
    ([name, columns]) => new sym.TableSymbol.$ctor4(name, Object.entries(columns).map(([c, t]) => new sym.ColumnSymbol(c, sym.ScalarTypes.GetSymbol(t)))),
  );
  const db = new sym.DatabaseSymbol.$ctor3("workspace", null, tableSymbols, false);
  return kusto.KustoCode.ParseAndAnalyze(query, kusto.GlobalState.Default.WithDatabase(db)) as KustoCodeApi;
}

export function diagnosticsOf(code: KustoCodeApi): Array<{ code: string; message: string }> {
  const list = code.GetDiagnostics();
  const out: Array<{ code: string; message: string }> = [];
  for (let i = 0; i < list.Count; i++) out.push({ code: list.getItem(i).Code, message: list.getItem(i).Message });
  return out;
}

/** Every node under `root`, depth first. */
export function descendants(root: KustoNode): KustoNode[] {
  const out: KustoNode[] = [];
  const stack: KustoNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop() as KustoNode;
    out.push(n);
    for (let i = n.ChildCount - 1; i >= 0; i--) {
      const c = n.GetChild(i);
      if (c !== null) stack.push(c);
    }
  }
  return out;
}
