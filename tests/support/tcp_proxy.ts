import net, { type AddressInfo } from "node:net";

/**
 * A loopback TCP proxy to a server, which a test can cut off, slow down and bring back: the server
 * becoming unreachable or slow mid-run, as a network partition or a database restart makes it.
 */
export interface TcpProxy {
  port: number;
  /** Drops every open connection, and every new one until restore(). */
  cut(): void;
  /** Holds every chunk, both ways, `ms` before passing it on, until restore(). */
  delay(ms: number): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let down = false;
  let latencyMs = 0;
  /** Passes `from`'s chunks to `to`, held `latencyMs` while slowed, in the order they came. */
  const forward = (from: net.Socket, to: net.Socket) => {
    let lastDue = 0;
    from.on("data", (chunk) => {
      if (latencyMs === 0 && lastDue <= Date.now()) return void to.write(chunk);
      lastDue = Math.max(Date.now() + latencyMs, lastDue);
      setTimeout(() => to.destroyed || to.write(chunk), lastDue - Date.now());
    });
  };
  const server = net.createServer((incoming) => {
    if (down) return void incoming.destroy();
    const outgoing = net.connect(target.port, target.host);
    for (const socket of [incoming, outgoing]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      // A cut connection errors on both ends; the client under test is what reports it.
      socket.on("error", () => {});
    }
    forward(incoming, outgoing);
    forward(outgoing, incoming);
    incoming.on("close", () => outgoing.destroy());
    outgoing.on("close", () => incoming.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      down = true;
      for (const socket of open) socket.destroy();
    },
    delay(ms) {
      latencyMs = ms;
    },
    restore() {
      down = false;
      latencyMs = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
