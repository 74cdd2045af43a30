/**
 * A plain-TCP port in front of a TLS one on 127.0.0.1: what connects to the bridge speaks plain HTTP, the bridge
 * speaks TLS (trusting `ca`) to the target. The local stack's Azurite serves HTTPS (its OAuth check takes bearer
 * tokens over HTTPS only); the bridge keeps its plain `http://` endpoints for everything that uses the shared key
 * (the HSMs' backup writes, the tests, Azure Functions' own storage), while the copy container is reached at
 * Azurite's own HTTPS endpoint with the app's managed identity, as in Azure.
 */
import { createServer, type Server, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { trackSocketPair } from "./trackSocketPair";

export interface TlsBridge {
  port: number;
  close(): Promise<void>;
}

export async function startTlsBridge(targetPort: number, ca: string, port = 0): Promise<TlsBridge> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tlsConnect({ host: "127.0.0.1", port: targetPort, ca, servername: "localhost" });
    trackSocketPair(client, upstream, sockets);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
