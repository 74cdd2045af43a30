import { redactSecrets } from "./redactSecrets";

/** One line for an error, secrets redacted (service messages can echo SAS signatures or keys). */
export function errorText(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return redactSecrets(message.split("\n")[0] ?? message);
}
