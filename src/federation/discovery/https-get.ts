/**
 * The HTTPS GET that .well-known uses: the URL's host resolved through our DNS (AAAA/A) and IP-range policy (an
 * IP-literal host checked directly), then one request over the checked TLS connector with the certificate
 * expected for the URL's host.
 */
import { isIP } from "node:net";
import type { HttpsClient } from "../tls/https-client.js";
import type { Dns } from "./dns.js";
import type { IpRangePolicy } from "./ip-ranges.js";
import { lookupAddresses } from "./resolve.js";
import type { WellKnownGet } from "./well-known.js";

export function httpsGetVia(dns: Dns, ipPolicy: IpRangePolicy, https: HttpsClient): WellKnownGet {
  return async (url, { timeoutMs, maxBytes, trace }) => {
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const port = url.port ? Number(url.port) : 443;
    let targets: { ip: string; port: number }[];
    if (isIP(host) !== 0) {
      const v = ipPolicy.check(host);
      if (!v.ok) throw new Error(v.reason);
      targets = [{ ip: host, port }];
    } else {
      const t = await lookupAddresses(dns, ipPolicy, host, port, trace);
      if (!t.ok) throw new Error(t.reason);
      targets = t.targets;
    }
    const res = await https.request({
      targets, tlsName: host, hostHeader: url.host, method: "GET", path: `${url.pathname}${url.search}`,
      timeoutMs, maxResponseBytes: maxBytes, trace,
    });
    return { status: res.status, headers: res.headers, body: res.body };
  };
}
