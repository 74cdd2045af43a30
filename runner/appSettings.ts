import { readFileSync } from 'node:fs';

/**
 * Reads a `local.settings.json`-style file and copies its `Values` into process.env, as Core Tools does.
 * Values already in the environment win, matching Core Tools (so CI can override a checked-in file).
 */
export function loadAppSettings(file: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read settings file ${file}: ${(err as Error).message}. Pass a local.settings.json-style file with a "Values" object.`);
  }
  const values = (parsed as { Values?: unknown }).Values;
  if (values === undefined) return {};
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new Error(`Settings file ${file}: "Values" must be an object of string settings.`);
  }
  const applied: Record<string, string> = {};
  for (const [name, value] of Object.entries(values as Record<string, unknown>)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`Settings file ${file}: Values.${name} must be a string, number or boolean.`);
    }
    if (process.env[name] === undefined) process.env[name] = String(value);
    applied[name] = process.env[name] as string;
  }
  return applied;
}

/** Resolves a binding expression that is wholly `%NAME%` to the app setting, as the host does for schedules. */
export function resolveSettingRef(value: string, what: string): string {
  const m = /^%([^%]+)%$/.exec(value.trim());
  if (!m) return value;
  const name = m[1] as string;
  const resolved = process.env[name];
  if (resolved === undefined || resolved === '') {
    throw new Error(`${what} refers to app setting %${name}%, which is not set: add "${name}" to the Values of your settings file or the environment.`);
  }
  return resolved;
}
