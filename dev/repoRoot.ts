import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The repository root: the first folder up from `from` with a package.json (works from dev/ and dist/dev/). */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`No package.json above ${from}; run from the hsm-lifecycle checkout.`);
    dir = up;
  }
}
