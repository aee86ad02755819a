/** Small socket helpers for tests that need a fixed port or want to see whether anything listens. */
import { connect, createServer } from "node:net";

/** An ephemeral port that is free on `host` right now (for configs that must name their port). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to host:port is accepted. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/**
 * An address of `prefix` + `from` .. `from + count - 1` (e.g. "127.0.4." 100..199) where TCP `port` is free right
 * now, for services that must use a fixed port (`.well-known` is fetched from 443 only). The walk starts at a random
 * offset, since another run of the suite on the machine may hold some of them.
 */
export async function addressWithFreePort(
  port: number,
  range: { readonly prefix: string; readonly from: number; readonly count: number },
  except: readonly string[] = [],
): Promise<string> {
  const start = Math.floor(Math.random() * range.count);
  for (let i = 0; i < range.count; i++) {
    const ip = `${range.prefix}${range.from + ((start + i) % range.count)}`;
    if (except.includes(ip)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, ip, () => srv.close(() => resolve(true)));
    });
    if (free) return ip;
  }
  throw new Error(`port ${port} is taken on every address of ${range.prefix}${range.from}-${range.from + range.count - 1}`);
}
