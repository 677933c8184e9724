import net, { type AddressInfo } from "node:net";

/**
 * A loopback TCP proxy to a server, which a test can cut off and bring back: the server
 * becoming unreachable mid-run, as a network partition or a database restart makes it.
 */
export interface TcpProxy {
  port: number;
  /** Drops every open connection, and every new one until restore(). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((incoming) => {
    if (down) return void incoming.destroy();
    const outgoing = net.connect(target.port, target.host);
    for (const socket of [incoming, outgoing]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      // A cut connection errors on both ends; the client under test is what reports it.
      socket.on("error", () => {});
    }
    incoming.pipe(outgoing).pipe(incoming);
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
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
