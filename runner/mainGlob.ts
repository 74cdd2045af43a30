import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Turns one glob segment (`*.js`, `{a,b}.js`, `f?.mjs`) into an anchored regular expression. */
function segmentToRegExp(segment: string): RegExp {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '{') {
      const end = segment.indexOf('}', i);
      if (end < 0) throw new Error(`Unclosed "{" in the package.json "main" pattern segment "${segment}".`);
      out += '(?:' + segment.slice(i + 1, end).split(',').map(escapeRegExp).join('|') + ')';
      i = end;
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const isGlob = (segment: string): boolean => /[*?{]/.test(segment);

/**
 * Expands the package.json `main` entry the way the Node worker does (it uses globby): a plain path, or a
 * pattern with `*`, `**`, `?` and `{a,b}`, relative to the app root. Matches are sorted so load order is stable.
 * Written here rather than adding a glob dependency: the runner must work with production dependencies only.
 */
export function expandMainGlob(appDir: string, pattern: string): string[] {
  const segments = pattern.replace(/\\/g, '/').replace(/^\.\//, '').split('/').filter((s) => s !== '' && s !== '.');
  const results = new Set<string>();
  const walk = (dir: string, index: number): void => {
    if (index === segments.length) return;
    const segment = segments[index] as string;
    const last = index === segments.length - 1;
    if (segment === '**') {
      walk(dir, index + 1);
      for (const entry of safeReaddir(dir)) {
        if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(path.join(dir, entry.name), index);
      }
      return;
    }
    if (!isGlob(segment)) {
      const next = path.join(dir, segment);
      if (last) {
        if (safeReaddir(dir).some((e) => e.name === segment && e.isFile())) results.add(next);
      } else walk(next, index + 1);
      return;
    }
    const re = segmentToRegExp(segment);
    for (const entry of safeReaddir(dir)) {
      if (!re.test(entry.name)) continue;
      const next = path.join(dir, entry.name);
      if (last && entry.isFile()) results.add(next);
      else if (!last && entry.isDirectory()) walk(next, index + 1);
    }
  };
  walk(appDir, 0);
  return [...results].sort();
}

function safeReaddir(dir: string): import('node:fs').Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
