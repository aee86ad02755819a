/**
 * A Zion child process federating over loopback: a client listener on 127.0.0.1, a TLS federation listener on
 * `ip`:8448 with a certificate for `name` from the test CA, names resolved through the test dnsmasq, and
 * `127.0.3.0/24` allowed by the outbound IP policy (the block the federation tests take their addresses from).
 */
import type { Dnsmasq } from "./dnsmasq.js";
import { startTestServer, type TestServer, type TestServerOptions } from "./server.js";
import type { TestCa } from "./test-ca.js";

/** `mode` "in-process" (with `startOptions`) gives the test the homeserver's storage; the default is a child process. */
export async function startFederatedZion(
  ca: TestCa, dns: Dnsmasq, name: string, ip: string, extra: Record<string, unknown> = {},
  opts: Pick<TestServerOptions, "mode" | "startOptions"> = {},
): Promise<TestServer> {
  const leaf = await ca.issue({ dns: [name], name });
  return startTestServer({
    serverName: name,
    mode: opts.mode ?? "child",
    ...(opts.startOptions ? { startOptions: opts.startOptions } : {}),
    tls: { certificatePath: leaf.chainPath, privateKeyPath: leaf.keyPath },
    config: {
      listeners: [
        { port: 0, bind_addresses: ["127.0.0.1"], type: "http", tls: false, resources: [{ names: ["client"] }] },
        { port: 8448, bind_addresses: [ip], type: "http", tls: true, resources: [{ names: ["federation"] }] },
      ],
      dns_servers: [dns.server],
      ip_range_whitelist: ["127.0.3.0/24"],
      federation_custom_ca_list: [ca.caCertPath],
      trusted_key_servers: [],
      ...extra,
    },
  });
}
