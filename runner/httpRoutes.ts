/** A compiled Functions HTTP route template (`items/{id}`, `{id:int}`, `{id?}`, `{*rest}`). */
export interface CompiledRoute {
  template: string;
  match(path: string): Record<string, string> | undefined;
}

/** Compiles an HTTP trigger route the way the host's ASP.NET-style routing reads it (constraints are ignored). */
export function compileRoute(template: string): CompiledRoute {
  const segments = template.replace(/^\/+|\/+$/g, '').split('/');
  const names: string[] = [];
  let re = '';
  for (const segment of segments) {
    const whole = /^\{(\*)?([A-Za-z_][\w]*)(?::[^}?]*)?(\?)?\}$/.exec(segment);
    if (whole) {
      const [, star, name, optional] = whole;
      names.push(name as string);
      if (star) re += '(?:/(.*))?';
      else if (optional) re += '(?:/([^/]+))?';
      else re += '/([^/]+)';
      continue;
    }
    re += '/' + segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const compiled = new RegExp(`^${re || '/'}/?$`, 'i');
  return {
    template,
    match(path) {
      const m = compiled.exec(path.startsWith('/') ? path : `/${path}`);
      if (!m) return undefined;
      const params: Record<string, string> = {};
      names.forEach((n, i) => {
        const v = m[i + 1];
        if (v !== undefined) params[n] = decodeURIComponent(v);
      });
      return params;
    },
  };
}
