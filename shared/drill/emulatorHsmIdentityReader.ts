import { request } from "node:https";
import { isLoopbackUrl } from "../config/loopbackHost";
import type { HsmIdentity, HsmIdentityReader } from "./hsmIdentity";

/**
 * Identity reader for the local emulator: `GET /_emulator/info` (loopback only, no token), which reports the
 * instance's own name and canonical URL. In Azure the facts come from the management plane instead
 * (`armHsmIdentityReader`: the resource's name, `properties.hsmUri` and its role tag).
 *
 * The report is unauthenticated, so it is used in emulator mode only (HSM_EMULATOR=true) and read from loopback
 * hosts only: a host another machine serves could claim any identity.
 *
 * @param ca - the emulator CA (PEM), trusted explicitly; TLS verification is never turned off
 * @param timeoutMs - per-request timeout
 */
export function emulatorHsmIdentityReader(ca: string | undefined, timeoutMs = 10_000): HsmIdentityReader {
  return ({ url: hsmUrl }) =>
    new Promise<HsmIdentity>((resolve, reject) => {
      if (!isLoopbackUrl(hsmUrl)) {
        reject(new Error(`${hsmUrl} is not a loopback host; the emulator's unauthenticated self-report is never trusted for it.`));
        return;
      }
      const url = `${hsmUrl.replace(/\/+$/, "")}/_emulator/info`;
      const req = request(url, { method: "GET", ...(ca === undefined ? {} : { ca }), agent: false, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: Record<string, unknown> | undefined;
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = undefined;
          }
          if (res.statusCode !== 200 || body === undefined || typeof body["name"] !== "string" || typeof body["url"] !== "string") {
            reject(new Error(`${url} answered ${res.statusCode ?? "no status"} without an HSM identity (name, url).`));
            return;
          }
          const identity: HsmIdentity = { name: body["name"], url: body["url"], source: "emulatorSelfReport" };
          if (typeof body["securityDomainId"] === "string") identity.securityDomainId = body["securityDomainId"];
          resolve(identity);
        });
      });
      req.on("timeout", () => req.destroy(new Error(`${url} did not answer within ${timeoutMs} ms.`)));
      req.on("error", reject);
      req.end();
    });
}
