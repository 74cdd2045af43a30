import type { Socket } from "node:net";

/**
 * Ties a proxied connection's two sockets together for a local proxy (the storage gate, the TLS bridge): both are
 * kept in `open` (so closing the proxy can destroy them) until they close; either closing ends the other; socket
 * errors only close (the peer sees the connection drop, which is the point of a cut).
 */
export function trackSocketPair(client: Socket, upstream: Socket, open: Set<Socket>): void {
  for (const sock of [client, upstream]) {
    open.add(sock);
    sock.on("close", () => {
      open.delete(sock);
      (sock === client ? upstream : client).destroy();
    });
    sock.on("error", () => undefined);
  }
}
