/**
 * An attacker's HTTPS endpoint: it answers every request like Key Vault does before auth (401 + a Bearer
 * challenge naming the resource it wants a token for) and records every request and every Authorization header
 * it is sent, so a test can prove that no token reached it. It serves a certificate the app trusts (the
 * emulator's own), so TLS does not stop the attack: only the app's own checks can.
 */
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";

export interface TokenTrap {
  url: string;
  /** Every request seen: method, path, whether it carried a bearer token. */
  requests: Array<{ method: string; path: string; authorization?: string }>;
  /** Authorization headers received (each is a stolen token). */
  tokens(): string[];
  reset(): void;
  close(): Promise<void>;
}

export async function startTokenTrap(tls: { cert: string; key: string }, opts: { host?: string; resource?: string } = {}): Promise<TokenTrap> {
  const resource = opts.resource ?? "https://managedhsm.azure.net";
  const requests: TokenTrap["requests"] = [];
  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const entry: TokenTrap["requests"][number] = { method: req.method ?? "", path: req.url ?? "" };
    if (typeof req.headers.authorization === "string") entry.authorization = req.headers.authorization;
    requests.push(entry);
    req.resume();
    res.writeHead(401, {
      "content-type": "application/json",
      "www-authenticate": `Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="${resource}"`,
    });
    res.end(JSON.stringify({ error: { code: "Unauthorized", message: "token please" } }));
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${host}:${port}`,
    requests,
    tokens: () => requests.flatMap((r) => (r.authorization === undefined ? [] : [r.authorization])),
    reset: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
