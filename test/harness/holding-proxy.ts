/**
 * An HTTPS reverse proxy on loopback in front of one server, that passes every request through unchanged (method,
 * path, headers, body: an X-Matrix signature stays valid) but can hold the requests a test names until it lets them
 * go. A test proves an ordering with it ("X answers while the completion is still waiting for /state_ids") without a
 * clock: the answer it holds cannot arrive before the test releases it.
 *
 *   const proxy = await startHoldingProxy({ host: "127.0.40.1", port: 8448 }, { host: "127.0.40.1", port: 9448 }, tls);
 *   const held = proxy.hold((path) => path.startsWith("/_matrix/federation/v1/state_ids/"));
 *   await held.arrived;  // the first such request is at the proxy, not yet forwarded
 *   held.release();      // it (and any later one) goes on to the server
 *   const seen = proxy.watch((path) => path.startsWith("/_matrix/federation/v1/user/keys/query"));
 *   await proxy.close();
 *
 * It terminates TLS with the certificate it is given (the target's, from test/harness/test-ca.ts, so the name the
 * client checks is the same) and connects to the target over TLS trusting `ca`.
 */
import { readFile } from "node:fs/promises";
import { Agent, createServer, request, type Server } from "node:https";

export interface HeldRequests {
  /** Resolves when the first matching request has arrived (and is being held). */
  readonly arrived: Promise<void>;
  /** The paths (with their queries) of the matching requests seen so far. */
  paths(): readonly string[];
  /** Forwards the held requests and stops holding. */
  release(): void;
}

export interface HoldingProxy {
  /** Holds every request whose path (with its query) matches, from now until release(). */
  hold(match: (path: string) => boolean): HeldRequests;
  /** Records (without holding) the paths of the requests that match, from now on. */
  watch(match: (path: string) => boolean): { paths(): readonly string[] };
  close(): Promise<void>;
}

export async function startHoldingProxy(
  listen: { host: string; port: number },
  target: { host: string; port: number },
  tls: { certificatePath: string; privateKeyPath: string; caPath: string },
): Promise<HoldingProxy> {
  const [cert, key, ca] = await Promise.all([readFile(tls.certificatePath), readFile(tls.privateKeyPath), readFile(tls.caPath)]);
  const agent = new Agent({ keepAlive: true, ca });
  const holds: { match: (path: string) => boolean; gate: Promise<void> }[] = [];
  const server: Server = createServer({ cert, key }, (req, res) => {
    const path = req.url ?? "/";
    const gates = holds.filter((h) => h.match(path)).map((h) => h.gate);
    const forward = (): void => {
      const upstream = request({ host: target.host, port: target.port, method: req.method, path, headers: req.headers, agent }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", (e) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ errcode: "M_UNKNOWN", error: `holding proxy: ${e.message}` }));
      });
      req.pipe(upstream);
    };
    // The body is read only once the request goes on (the client waits for the answer meanwhile).
    if (gates.length === 0) forward();
    else void Promise.all(gates).then(forward);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    hold(match) {
      let open!: () => void;
      let arrive!: () => void;
      const seen: string[] = [];
      const arrived = new Promise<void>((r) => { arrive = r; });
      const gate = new Promise<void>((r) => { open = r; });
      const entry = {
        match: (path: string) => {
          if (!match(path)) return false;
          seen.push(path);
          arrive();
          return true;
        },
        gate,
      };
      holds.push(entry);
      return {
        arrived,
        paths: () => seen,
        release() {
          const i = holds.indexOf(entry);
          if (i >= 0) holds.splice(i, 1);
          open();
        },
      };
    },
    watch(match) {
      const seen: string[] = [];
      holds.push({ match: (path) => { if (match(path)) seen.push(path); return false; }, gate: Promise.resolve() });
      return { paths: () => seen };
    },
    async close() {
      holds.length = 0; // requests still held are dropped with their connections
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
