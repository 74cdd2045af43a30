/**
 * Every app setting the lifecycle app reads, with its default and meaning. `loadSettings` validates exactly
 * these keys; `local.settings.sample.json` lists every one of them (a test checks both stay in step).
 *
 * The data lives in settingsCatalog.json, which infra/ (Bicep `loadJsonContent`) reads too, so the deployment's
 * defaults (container names) are the app's.
 */
import catalog from "./settingsCatalog.json";

export interface SettingSpec {
  key: string;
  /** undefined: required (or "one of" as described). */
  default?: string;
  secret?: boolean;
  description: string;
}

export const settingsCatalog: readonly SettingSpec[] = catalog;
