/**
 * The route table every emulator module extends.
 *
 * A route is `{ method, pattern, operationName, handler }`. Patterns are matched segment by segment
 * against the raw request path with EMPTY segments kept, because the SDK sends `/keys/k//sign` and
 * `/keys/k/` for "latest version". `:name` captures one segment (possibly empty); literal segments
 * match case-insensitively. The first matching route wins, so register specific routes before
 * generic ones (`addFirst` exists for that). RBAC paths (`///providers/...`) are not routed here: the
 * RBAC module parses them itself (see emulator/rbac/rbacPath.ts).
 *
 * How another module (e.g. emulator/admin) adds routes:
 *
 *   export function registerAdminRoutes(table: RouteTable): void {
 *     table.add({ method: "POST", pattern: "/backup", operationName: "BackupCreate", kinds: ["managedHsm"],
 *       handler: async (ctx) => { ctx.authorize("backup/start/action", "/"); ...; return ctx.json(202, body, { "azure-asyncoperation": url }); } });
 *   }
 *
 * and server.ts calls it (see the `routeModules` option of startEmulator).
 */
import type { RequestContext } from "./requestContext";
import type { InstanceKind } from "../instanceKind";

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  /** e.g. "/keys/:name/:version/sign"; leading "/" required. */
  pattern: string;
  /** Audit operationName (Managed HSM AuditEvent style: KeyCreate, KeyGet, KeySign, ...). */
  operationName: string;
  handler: RouteHandler;
  /** Restrict to instance kinds; other kinds get 400 BadParameter naming the flavour. Default: all. */
  kinds?: InstanceKind[];
  /** True for routes that still work while a full restore runs (restore status polling). */
  allowDuringRestore?: boolean;
  /** True for the security domain routes: the only ones an HSM serves before it is activated. */
  allowBeforeActivation?: boolean;
  /** True when the handler reads a JSON body (default true for POST/PUT/PATCH). */
  readsBody?: boolean;
  /**
   * True when the service answers without `api-version` (job status URLs: the Azure-AsyncOperation URL it
   * returns carries none, and SDKs poll it as given). A given api-version is still checked.
   */
  apiVersionOptional?: boolean;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

interface CompiledRoute {
  route: Route;
  segments: string[];
}

export class RouteTable {
  private readonly routes: CompiledRoute[] = [];

  add(route: Route): this {
    this.routes.push(compile(route));
    return this;
  }

  addFirst(route: Route): this {
    this.routes.unshift(compile(route));
    return this;
  }

  /** The audit operation names of the routes, in table order (one per route). */
  operationNames(): string[] {
    return this.routes.map((r) => r.route.operationName);
  }

  /** Returns the match, or `"method"` if the path exists with another method, or undefined. */
  match(method: string, segments: string[]): RouteMatch | "method" | undefined {
    let pathMatched = false;
    for (const compiled of this.routes) {
      const params = matchSegments(compiled.segments, segments);
      if (params === undefined) continue;
      if (compiled.route.method !== method.toUpperCase()) {
        pathMatched = true;
        continue;
      }
      return { route: compiled.route, params };
    }
    return pathMatched ? "method" : undefined;
  }
}

function compile(route: Route): CompiledRoute {
  if (!route.pattern.startsWith("/")) throw new Error(`Route pattern "${route.pattern}" must start with "/".`);
  return { route: { ...route, method: route.method.toUpperCase() }, segments: route.pattern.slice(1).split("/") };
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const a = actual[i] as string;
    if (p.startsWith(":")) params[p.slice(1)] = a;
    else if (p.toLowerCase() !== a.toLowerCase()) return undefined;
  }
  return params;
}
