/**
 * HTTPS for outbound federation over undici with our connector (connector.ts): one undici Pool per
 * (ip, port, certificate name), so connections to a destination are reused, and every new connection passes the
 * TLS checks. Tries the resolved targets in order, moving on when a target cannot be connected to; caps the
 * response size and the time taken.
 */
import type { Client, Dispatcher, Pool } from "undici";

/** undici is loaded on the first outbound request, not at start-up: a server that never federates out saves its memory. */
let undici: Promise<typeof import("undici")> | undefined;
const loadUndici = (): Promise<typeof import("undici")> => (undici ??= import("undici"));
import { isIP } from "node:net";
import type { Trace } from "../trace.js";
import { connectTls, formatAddress, TlsConnectError } from "./connector.js";
import type { TlsPolicy } from "./policy.js";

export interface HttpsTargetAddress {
  readonly ip: string;
  readonly port: number;
}

export interface HttpsRequest {
  readonly targets: readonly HttpsTargetAddress[];
  /** The name the certificate must cover. */
  readonly tlsName: string;
  readonly hostHeader: string;
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path and query, starting with '/'. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
  /** When given, a fresh connection is made (so its TLS steps are traced) and closed afterwards. */
  readonly trace?: Trace;
}

export interface HttpsResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** "ip:port" that answered. */
  readonly address: string;
}

export class HttpsRequestError extends Error {
  constructor(
    message: string,
    readonly kind: "connect" | "timeout" | "too-large" | "protocol",
    /** Per-target failures, in the order tried. */
    readonly attempts: readonly { address: string; error: string }[] = [],
  ) {
    super(message);
    this.name = "HttpsRequestError";
  }
}

export interface HttpsClientOptions {
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly maxResponseBytes?: number;
  readonly connectionsPerTarget?: number;
  readonly keepAliveMs?: number;
  /** Destinations with a pool kept open at once (least recently used closed first; default 2000). */
  readonly maxPools?: number;
}

export class HttpsClient {
  private readonly pools = new Map<string, Pool>();
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxResponseBytes: number;

  constructor(readonly policy: TlsPolicy, private readonly opts: HttpsClientOptions = {}) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.maxResponseBytes = opts.maxResponseBytes ?? 64 * 1024 * 1024;
  }

  private origin(t: HttpsTargetAddress): string {
    return `https://${isIP(t.ip) === 6 ? `[${t.ip}]` : t.ip}:${t.port}`;
  }

  private connectFn(t: HttpsTargetAddress, tlsName: string, trace?: Trace) {
    // undici's connector callback shape: (options, callback).
    return (_opts: unknown, cb: (err: Error | null, socket: import("node:net").Socket | null) => void) => {
      connectTls({ ip: t.ip, port: t.port, tlsName }, this.policy, { timeoutMs: this.connectTimeoutMs, ...(trace ? { trace } : {}) })
        .then((s) => cb(null, s), (e: Error) => cb(e, null));
    };
  }

  private async pool(t: HttpsTargetAddress, tlsName: string): Promise<Pool> {
    // Loaded before the map is read, so that two requests racing for one destination share a pool.
    const { Pool } = await loadUndici();
    const key = `${formatAddress(t.ip, t.port)}|${tlsName.toLowerCase()}`;
    let p = this.pools.get(key);
    if (p) {
      // Most recently used last, so the first entry is the one to drop when there are too many.
      this.pools.delete(key);
      this.pools.set(key, p);
    } else {
      const max = this.opts.maxPools ?? 2000;
      while (this.pools.size >= max) {
        const [oldKey, oldPool] = this.pools.entries().next().value as [string, Pool];
        this.pools.delete(oldKey);
        void oldPool.close().catch(() => undefined);
      }
      p = new Pool(this.origin(t), {
        connect: this.connectFn(t, tlsName) as never,
        connections: this.opts.connectionsPerTarget ?? 8,
        keepAliveTimeout: this.opts.keepAliveMs ?? 30_000,
        headersTimeout: this.requestTimeoutMs,
        bodyTimeout: this.requestTimeoutMs,
      });
      this.pools.set(key, p);
    }
    return p;
  }

  /** Sends the request to the first target that accepts a checked TLS connection. */
  async request(req: HttpsRequest): Promise<HttpsResponse> {
    const attempts: { address: string; error: string }[] = [];
    if (req.targets.length === 0) throw new HttpsRequestError("no address to connect to", "connect");
    for (const t of req.targets) {
      const address = formatAddress(t.ip, t.port);
      const dispatcher: Dispatcher = req.trace
        ? new (await loadUndici()).Client(this.origin(t), { connect: this.connectFn(t, req.tlsName, req.trace) as never, pipelining: 0 })
        : await this.pool(t, req.tlsName);
      try {
        return await this.once(dispatcher, address, req);
      } catch (err) {
        if (err instanceof HttpsRequestError) throw err;
        const connectFailed = err instanceof TlsConnectError || (err as { code?: string }).code === "UND_ERR_CONNECT_TIMEOUT";
        if (!connectFailed) {
          throw new HttpsRequestError(`request to ${address} failed: ${(err as Error).message}`, "protocol", [...attempts, { address, error: (err as Error).message }]);
        }
        attempts.push({ address, error: (err as Error).message });
      } finally {
        if (req.trace) await (dispatcher as Client).close().catch(() => undefined);
      }
    }
    throw new HttpsRequestError(
      `could not connect to any address: ${attempts.map((a) => a.error).join("; ")}`,
      "connect",
      attempts,
    );
  }

  private async once(d: Dispatcher, address: string, req: HttpsRequest): Promise<HttpsResponse> {
    const timeoutMs = req.timeoutMs ?? this.requestTimeoutMs;
    const max = req.maxResponseBytes ?? this.maxResponseBytes;
    const signal = AbortSignal.timeout(timeoutMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await d.request({
        method: req.method,
        path: req.path,
        headers: { ...req.headers, host: req.hostHeader },
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw new HttpsRequestError(`no response from ${address} within ${timeoutMs} ms`, "timeout", [{ address, error: "timeout" }]);
      throw err;
    }
    const declared = Number(res.headers["content-length"] ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
      res.body.destroy();
      throw new HttpsRequestError(`response from ${address} is ${declared} bytes, over the ${max}-byte limit`, "too-large", [{ address, error: "too large" }]);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const c of res.body) {
        const b = c as Buffer;
        size += b.length;
        if (size > max) {
          res.body.destroy();
          throw new HttpsRequestError(`response from ${address} exceeds the ${max}-byte limit`, "too-large", [{ address, error: "too large" }]);
        }
        chunks.push(b);
      }
    } catch (err) {
      if (err instanceof HttpsRequestError) throw err;
      if (signal.aborted) throw new HttpsRequestError(`response from ${address} not complete within ${timeoutMs} ms`, "timeout", [{ address, error: "timeout" }]);
      throw new HttpsRequestError(`reading the response from ${address} failed: ${(err as Error).message}`, "protocol", [{ address, error: (err as Error).message }]);
    }
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), address };
  }

  async close(): Promise<void> {
    const ps = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(ps.map((p) => p.close().catch(() => undefined)));
  }
}
