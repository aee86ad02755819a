/**
 * A TCP proxy on loopback that a test can cut and heal, and that counts the connections it is offered.
 *
 * The three-server harness puts one in front of every (viewer, target) pair, so a test can make two servers unable
 * to reach each other (a partition) while both still reach the third, and can prove that one server never opened a
 * connection to another (`accepted` stays 0). TLS passes through untouched: the proxy only copies bytes.
 *
 *   const p = await startTcpProxy({ host: "127.0.21.12", port: 8448 }, { host: "127.0.21.2", port: 8448 });
 *   p.cut();     // open connections are destroyed; new ones are accepted and reset at once (still counted)
 *   p.heal();
 *   await p.close();
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  readonly listen: { readonly host: string; readonly port: number };
  /** Connections offered since start (cut or not). */
  accepted(): number;
  /** Destroys every open connection and resets new ones until heal(). */
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(listen: { host: string; port: number }, target: { host: string; port: number }): Promise<TcpProxy> {
  let count = 0;
  let isCut = false;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    count++;
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port });
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    listen,
    accepted: () => count,
    cut() {
      isCut = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    heal() {
      isCut = false;
    },
    async close() {
      for (const s of open) s.destroy();
      open.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
