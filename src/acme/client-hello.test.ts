import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { connect } from "node:tls";
import { parseClientHello } from "./client-hello.js";

/** The first bytes a real Node TLS client sends. */
async function captureHello(opts: { servername?: string; alpn?: string[] }): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.5.40", r));
  const port = (server.address() as AddressInfo).port;
  try {
    const got = new Promise<Buffer>((resolve) => server.once("connection", (s) => s.once("data", (d: Buffer) => { resolve(d); s.destroy(); })));
    const c = connect({ host: "127.0.5.40", port, ...(opts.servername ? { servername: opts.servername } : {}), ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}) });
    c.on("error", () => undefined);
    const hello = await got;
    c.destroy();
    return hello;
  } finally {
    server.close();
  }
}

describe("parseClientHello", () => {
  it("reads the server name and the ALPN protocols a TLS client offers", async () => {
    const hello = await captureHello({ servername: "hs.acme.test", alpn: ["acme-tls/1"] });
    assert.deepEqual(parseClientHello(hello), { servername: "hs.acme.test", alpn: ["acme-tls/1"] });
    const h2 = await captureHello({ servername: "other.test", alpn: ["h2", "http/1.1"] });
    assert.deepEqual(parseClientHello(h2), { servername: "other.test", alpn: ["h2", "http/1.1"] });
  });

  it("yields no ALPN when none is offered, and undefined for bytes that are not a ClientHello", async () => {
    const hello = await captureHello({ servername: "hs.acme.test" });
    assert.deepEqual(parseClientHello(hello), { servername: "hs.acme.test", alpn: [] });
    assert.equal(parseClientHello(Buffer.from("GET / HTTP/1.1\r\n\r\n")), undefined);
    assert.equal(parseClientHello(hello.subarray(0, 3)), undefined);
  });
});
