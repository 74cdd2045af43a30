import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { installCoreShim, type CoreShim, type RegisteredFunction } from './coreShim.js';
import { expandMainGlob } from './mainGlob.js';

export interface LoadedApp {
  appDir: string;
  entryFiles: string[];
  functions: Map<string, RegisteredFunction>;
  shim: CoreShim;
}

/** Native dynamic import: `tsc` would otherwise turn `import()` into `require()` in CommonJS output. */
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/**
 * Loads a v4-model function app the way the Node worker does (`startApp.ts`): read `main` from the app's
 * package.json, expand it as a glob relative to the app root, and require (CJS) or import (ESM) every match;
 * registration is the side effect. The core shim is installed first so no registration is lost.
 */
export async function loadApp(appDirInput: string): Promise<LoadedApp> {
  const shim = installCoreShim();
  const appDir = path.resolve(appDirInput);
  let pkg: { main?: unknown; type?: unknown };
  try {
    pkg = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as { main?: unknown; type?: unknown };
  } catch (err) {
    throw new Error(`Cannot read ${path.join(appDir, 'package.json')}: ${(err as Error).message}. --app must point at a function app root that has a package.json with "main".`);
  }
  if (typeof pkg.main !== 'string' || pkg.main === '') {
    throw new Error(`${path.join(appDir, 'package.json')} has no "main": set it to the entry file or glob of your v4 functions (e.g. "dist/src/functions/*.js").`);
  }
  const entryFiles = expandMainGlob(appDir, pkg.main);
  if (entryFiles.length === 0) {
    throw new Error(`Worker was unable to load entry point "${pkg.main}": Found zero files matching the supplied pattern (app root ${appDir}). Build the app first or fix "main".`);
  }
  shim.clearRegistrations();
  // A second load in the same process (tests) must register again, so drop the app's own modules from the cache.
  const appRequire = createRequire(path.join(appDir, 'package.json'));
  for (const key of Object.keys(appRequire.cache)) {
    if (key.startsWith(appDir + path.sep) && !key.includes(`${path.sep}node_modules${path.sep}`)) delete appRequire.cache[key];
  }
  for (const file of entryFiles) {
    const esm = file.endsWith('.mjs') || (pkg.type === 'module' && !file.endsWith('.cjs'));
    try {
      if (esm) await nativeImport(`${pathToFileURL(file).href}?load=${Date.now()}`);
      else appRequire(file);
    } catch (err) {
      throw new Error(`Worker was unable to load entry point "${path.relative(appDir, file)}": ${(err as Error).message}`, { cause: err });
    }
  }
  // The worker runs appStart hooks once the entry points are loaded.
  for (const hook of shim.hooks.get('appStart') ?? []) {
    await hook({ hookData: {}, appHookData: {}, functionAppDirectory: appDir });
  }
  if (shim.functions.size === 0) {
    throw new Error(`The app at ${appDir} registered no functions: its entry files must call app.* / df.app.* from @azure/functions v4 and durable-functions.`);
  }
  return { appDir, entryFiles, functions: new Map(shim.functions), shim };
}
