import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The function app's root: the nearest folder above this module that holds a package.json. Relative paths in
 * app settings (ROTATION_POLICY_FILE) resolve from here, as documented, rather than from the worker's current
 * directory, which the Functions host does not promise. Works from the TypeScript sources and from dist/ alike.
 */
export function appRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
