/**
 * A TCP gate in front of Azurite's blob endpoint, for tests that need storage to fail or stall on cue. The
 * local stack puts it between Azurite and everything that writes backups (the HSMs and the app) when asked
 * (`startLocalStack({ storageGate: true })`); the stack itself and the tests still reach Azurite directly.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { trackSocketPair } from "./trackSocketPair";

/**
 * - `cut()` closes the port and drops open connections (ECONNREFUSED: storage unreachable) while Azurite
 *   keeps its data, so a test can check afterwards that older backups are untouched; `open()` listens on
 *   the same port again.
 * - `hold()` keeps accepting connections but forwards nothing (bytes are queued) until `release()`: a
 *   backup job stays InProgress for exactly as long as a test wants. (Freezing Azurite with SIGSTOP for
 *   more than a few seconds left the HSM's storage call hanging for good, so holding is done here.)
 */
export interface StorageGate {
  port: number;
  cut(): Promise<void>;
  open(): Promise<void>;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

export async function startStorageGate(targetPort: number): Promise<StorageGate> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let held = false;
  const queued: Array<() => void> = [];
  const forward = (from: Socket, to: Socket): void => {
    from.on("data", (chunk: Buffer) => {
      if (held) queued.push(() => to.write(chunk));
      else to.write(chunk);
    });
    from.on("end", () => (held ? queued.push(() => to.end()) : to.end()));
  };
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, "127.0.0.1");
        trackSocketPair(client, upstream, sockets);
        forward(client, upstream);
        forward(upstream, client);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const release = (): void => {
    held = false;
    for (const send of queued.splice(0)) send();
  };
  await listen();
  return {
    port,
    cut,
    open: listen,
    hold: () => {
      held = true;
    },
    release,
    close: async () => {
      release();
      await cut();
    },
  };
}
