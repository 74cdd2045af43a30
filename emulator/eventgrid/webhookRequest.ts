import http from "node:http";
import https from "node:https";

export interface WebhookResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * One HTTP request to a subscriber. Network errors and timeouts reject (the caller treats them as a failed
 * attempt); any HTTP status resolves. `ca` lets an https webhook use a private CA without disabling TLS checks.
 */
export function webhookRequest(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number; ca?: string | Buffer; signal?: AbortSignal },
): Promise<WebhookResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const payload = init.body === undefined ? undefined : Buffer.from(init.body, "utf8");
    const headers: Record<string, string> = { ...init.headers };
    if (payload) headers["content-length"] = String(payload.length);
    const options: https.RequestOptions = { method: init.method, headers, timeout: init.timeoutMs };
    if (init.ca !== undefined) options.ca = init.ca;
    if (init.signal !== undefined) options.signal = init.signal;
    const request = (target.protocol === "https:" ? https : http).request(target, options, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }),
      );
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`timed out after ${init.timeoutMs} ms`)));
    request.on("error", reject);
    request.end(payload);
  });
}
