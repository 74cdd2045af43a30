import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import { appSettings } from "./appSettings";
import type { Settings } from "../config/settings";
import { isLifecycleError } from "../errors/lifecycleError";

/**
 * What every HTTP starter reads first: the app settings (a settings problem answers 500 naming it) and the JSON
 * body (empty is `undefined`; anything else that is not JSON answers 400 through `badRequest`).
 */
export async function starterRequest(request: HttpRequest, badRequest: (problems: string[]) => HttpResponseInit): Promise<{ settings: Readonly<Settings>; body: unknown } | { answer: HttpResponseInit }> {
  let settings: Readonly<Settings>;
  try {
    settings = appSettings();
  } catch (e) {
    const message = isLifecycleError(e) ? e.message : `[SettingsInvalid] ${(e as Error).message}`;
    return { answer: { status: 500, jsonBody: { error: { code: "SettingsInvalid", message } } } };
  }
  const text = await request.text();
  try {
    return { settings, body: text.trim() === "" ? undefined : JSON.parse(text) };
  } catch {
    return { answer: badRequest(["the body is not JSON"]) };
  }
}
