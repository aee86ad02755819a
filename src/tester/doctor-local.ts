/**
 * `zion doctor`'s local checks: what can be wrong with a homeserver.yaml and
 * the files it names before any peer tries to connect. The database check
 * receives a storage probe from app/ (the tester may not import storage).
 *
 * 1. TLS certificate and key files readable, the key matching the certificate;
 * 2. the certificate covers the server name or the delegated host, and its expiry;
 * 3. the signing key file parses (Synapse format);
 * 4. public_baseurl is consistent with the listeners;
 * 5. delegation (.well-known) is consistent with the federation listener's port (8448 versus 443), and that listener
 *    is reachable from other machines (not loopback-only while the name peers connect to resolves elsewhere);
 * 6. federation_domain_whitelist is sane;
 * 7. the database is reachable and migrated.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { federationEndpoint, type HomeserverConfig } from "../config/index.js";
import { parseSigningKeyFile } from "../core/crypto/index.js";
import type { Dns } from "../federation/discovery/index.js";
import { checkCertificateName, parseSubjectAltName } from "../federation/tls/name-check.js";
import { EXPIRY_WARNING_DAYS, commonName, splitPem, trustAnchors, verifyChain } from "./tls-inspect.js";
import { makeCheck, type ReportBuilder } from "./report.js";

/** What app/ passes in for the database check (a slice of storage's MigrationStatus). */
export interface DatabaseProbe {
  ping(): Promise<void>;
  migrationStatus(): Promise<{ readonly current: number; readonly latest: number; readonly pending: readonly string[]; readonly unknown: readonly number[] }>;
}

/** What app/ reads of ACME's state on disk (a slice of app/certificates' AcmeDoctorView). */
export interface AcmeView {
  readonly storageDir: string;
  readonly certificate?: { readonly serial: string; readonly dnsNames: readonly string[]; readonly notAfter: number };
  readonly consecutiveFailures: number;
  readonly lastError?: string;
  readonly warning?: string;
}

export interface LocalCheckOptions {
  readonly now: number;
  /** ACME's state when `acme.enabled` (certificates then come from ACME, not from tls_certificate_path). */
  readonly acme?: AcmeView;
  /** Opens the configured database; absent when the caller cannot (the check then says so). */
  readonly database?: () => Promise<DatabaseProbe & { close?(): Promise<void> }>;
  /** Resolves the host peers connect to (the server's own DNS settings), for the loopback-only listener check. */
  readonly dns?: Dns;
}

const DAY_MS = 86_400_000;

function readable(path: string): { ok: true; text: string } | { ok: false; reason: string } {
  try {
    return { ok: true, text: readFileSync(path, "utf8") };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  return a === "::1" || a === "localhost" || /^127\./.test(a) || /^::ffff:127\./.test(a);
}

function hasResource(l: HomeserverConfig["listeners"][number], name: string): boolean {
  return l.resources.some((r) => (r.names as readonly string[]).includes(name));
}

export async function runLocalChecks(config: HomeserverConfig, b: ReportBuilder, opts: LocalCheckOptions): Promise<void> {
  const endpoint = federationEndpoint(config);
  const fedListeners = config.listeners.filter((l) => l.type === "http" && hasResource(l, "federation"));
  const tlsListeners = fedListeners.filter((l) => l.tls);

  // Steps 1 and 2: TLS files.
  b.starting("reading the TLS certificate and key");
  const certPath = config.tls_certificate_path;
  const keyPath = config.tls_private_key_path;
  if (opts.acme) {
    // ACME renewal state, as the running server last wrote it (docs/certificates.md).
    const a = opts.acme;
    const cert = a.certificate;
    if (a.warning) {
      const hard = !cert || cert.notAfter <= opts.now;
      b.add(makeCheck("local.acme", hard ? "fail" : "warn", a.warning, {
        fix: "Read the server's `acme:` log lines for the CA's reason (DNS, port 80 or 443 reachable for the challenge, rate limits); see docs/certificates.md.",
      }));
    } else if (cert) {
      const held = `certificate ${cert.serial} for ${cert.dnsNames.join(", ")}, valid until ${new Date(cert.notAfter).toISOString()}`;
      const days = Math.floor((cert.notAfter - opts.now) / DAY_MS);
      // A renewal that keeps failing while more than 14 days remain is not yet a warning, but the tick must not claim it is fine.
      b.ok("local.acme", a.consecutiveFailures > 0
        ? `${held}; the last ${a.consecutiveFailures === 1 ? "renewal attempt" : `${a.consecutiveFailures} renewal attempts`} failed (${a.lastError ?? "no reason recorded"}), with ${days} days left: Zion keeps retrying and warns below 14 days`
        : `${held}; no renewal attempt has failed`);
    }
    if (cert && certPath === undefined) {
      const v = checkCertificateName({ dns: cert.dnsNames, ip: [] }, endpoint.host);
      if (v.ok) b.ok("local.tls-names", `the ACME certificate covers ${endpoint.host} (${v.matched}), where peers connect: ${endpoint.via}`);
      else b.fail("local.tls-names", `${v.reason}; peers connect to ${endpoint.host} (${endpoint.via})`, { fix: `Add ${endpoint.host} to acme.domains (or fix the delegation) so the next certificate covers it.` });
    }
  }
  if (certPath === undefined && keyPath === undefined) {
    if (config.acme?.enabled) {
      b.ok("local.tls-files", "no TLS files configured: ACME obtains and renews the certificate (see the ACME check)");
    } else if (tlsListeners.length > 0) {
      b.fail("local.tls-files", `listener on port ${tlsListeners[0]!.port} has tls: true but no tls_certificate_path/tls_private_key_path is set`, {
        fix: "Set tls_certificate_path and tls_private_key_path (e.g. Let's Encrypt's fullchain.pem and privkey.pem), or turn TLS off on the listener and terminate TLS in a reverse proxy.",
      });
    } else {
      b.ok("local.tls-files", "no TLS files configured: TLS is expected to be terminated by a reverse proxy");
    }
  } else if (certPath === undefined || keyPath === undefined) {
    b.fail("local.tls-files", `${certPath === undefined ? "tls_certificate_path" : "tls_private_key_path"} is missing while the other is set`);
  } else {
    const cert = readable(certPath);
    const key = readable(keyPath);
    if (!cert.ok || !key.ok) {
      b.fail("local.tls-files", [!cert.ok ? `certificate ${certPath}: ${cert.reason}` : "", !key.ok ? `key ${keyPath}: ${key.reason}` : ""].filter(Boolean).join("; "));
    } else {
      const pems = splitPem(cert.text);
      let leaf: X509Certificate | undefined;
      try {
        leaf = pems[0] ? new X509Certificate(pems[0]) : undefined;
      } catch (err) {
        b.fail("local.tls-files", `${certPath} is not a PEM certificate: ${(err as Error).message}`);
      }
      if (!pems[0]) b.fail("local.tls-files", `${certPath} contains no PEM certificate`);
      if (leaf) {
        b.ok("local.tls-files", `${certPath} (${pems.length} certificate${pems.length === 1 ? "" : "s"}) and ${keyPath} are readable`);
        // Would a peer trust it? The system's CAs plus our federation_custom_ca_list (a private federation shares its CA).
        const customPems = (config.federation_custom_ca_list ?? []).map((p) => readable(p)).flatMap((r) => (r.ok ? [r.text] : []));
        const chain = pems.flatMap((p) => {
          try {
            return [new X509Certificate(p)];
          } catch {
            return [];
          }
        });
        const verdict = verifyChain(chain, trustAnchors(customPems, true));
        switch (verdict.kind) {
          case "trusted":
            b.ok("local.tls-chain", `issued by "${commonName(leaf.issuer)}", which chains to a trusted CA`);
            break;
          case "self-signed":
            b.fail("local.tls-chain", `${certPath} is self-signed: servers verifying certificates (the default) will refuse it`);
            break;
          case "missing-intermediate":
            b.fail("local.tls-chain", `${certPath} holds only the server certificate, issued by "${verdict.issuer}", which is not a trusted root: peers also need the intermediate`, {
              fix: "Point tls_certificate_path at the full chain (e.g. fullchain.pem, not cert.pem).",
            });
            break;
          case "unknown-issuer":
            b.warn("local.tls-chain", `the chain ends at "${verdict.issuer}", which is neither a public CA nor in federation_custom_ca_list: only peers that list it will trust this certificate`);
            break;
          case "empty":
            break;
        }
        try {
          const priv = createPrivateKey(key.text);
          if (leaf.checkPrivateKey(priv)) b.ok("local.tls-key-match", "the private key belongs to the certificate");
          else b.fail("local.tls-key-match", `${keyPath} is not the key of the certificate in ${certPath}`);
        } catch (err) {
          b.fail("local.tls-key-match", `${keyPath} is not a readable private key: ${(err as Error).message}`);
        }
        const names = parseSubjectAltName(leaf.subjectAltName, commonName(leaf.subject));
        const v = checkCertificateName(names, endpoint.host);
        if (v.ok) {
          b.ok("local.tls-names", `the certificate covers ${endpoint.host} (${v.matched}${v.wildcard ? ", a wildcard" : ""}), where peers connect: ${endpoint.via}`);
        } else {
          b.fail("local.tls-names", `${v.reason}; peers connect to ${endpoint.host} (${endpoint.via})`, {
            fix: `Get a certificate whose subjectAltName includes ${endpoint.host}${endpoint.delegated ? "" : ", or delegate with /.well-known/matrix/server to a host the certificate covers"}.`,
          });
        }
        const notAfter = Date.parse(leaf.validTo);
        const days = Math.floor((notAfter - opts.now) / DAY_MS);
        if (notAfter < opts.now) b.fail("local.tls-expiry", `the certificate expired on ${new Date(notAfter).toISOString()}`);
        else if (Date.parse(leaf.validFrom) > opts.now) b.fail("local.tls-expiry", `the certificate is not valid before ${leaf.validFrom}`, { fix: "Check the system clock (NTP) or wait until the certificate becomes valid." });
        else if (days < EXPIRY_WARNING_DAYS) b.warn("local.tls-expiry", `the certificate expires in ${days} day${days === 1 ? "" : "s"}`);
        else b.ok("local.tls-expiry", `valid for ${days} more days`);
      }
    }
  }

  // Step 3: signing key.
  b.starting("reading the signing key");
  const sk = readable(config.signing_key_path);
  if (!sk.ok) {
    b.fail("local.signing-key", `${config.signing_key_path}: ${sk.reason}`);
  } else {
    try {
      const keys = parseSigningKeyFile(sk.text);
      if (keys.length === 0) b.fail("local.signing-key", `${config.signing_key_path} holds no key`);
      else b.ok("local.signing-key", `${keys.map((k) => k.keyId).join(", ")} from ${config.signing_key_path}`);
    } catch (err) {
      b.fail("local.signing-key", `${config.signing_key_path}: ${(err as Error).message}`);
    }
  }

  // Step 4: public_baseurl versus listeners.
  const clientListeners = config.listeners.filter((l) => l.type === "http" && hasResource(l, "client"));
  const base = new URL(config.public_baseurl);
  const basePort = base.port ? Number(base.port) : base.protocol === "https:" ? 443 : 80;
  if (clientListeners.length === 0) {
    b.fail("local.public-baseurl", `public_baseurl is ${config.public_baseurl} but no listener serves the client resource`, {
      fix: "Add \"client\" to the resources of an http listener.",
    });
  } else {
    const direct = clientListeners.find((l) => l.port === basePort);
    const proxied = clientListeners.find((l) => l.x_forwarded);
    if (base.protocol !== "https:" && !["localhost", "127.0.0.1", "[::1]"].includes(base.hostname)) {
      b.warn("local.public-baseurl", `public_baseurl ${config.public_baseurl} is plain http`, {
        fix: "Serve clients over https: set public_baseurl to https://... and terminate TLS in front of the client listener.",
      });
    } else if (direct && (direct.tls || base.protocol === "http:")) {
      b.ok("local.public-baseurl", `${config.public_baseurl} is served directly by the listener on port ${direct.port}`);
    } else if (direct && base.protocol === "https:" && !direct.tls) {
      b.fail("local.public-baseurl", `public_baseurl uses https on port ${basePort}, but the listener on ${basePort} speaks plain http`, {
        fix: `Set tls: true on the listener on port ${basePort}, or put a TLS reverse proxy on ${basePort} and move the listener to another port with x_forwarded: true.`,
      });
    } else if (proxied) {
      b.ok("local.public-baseurl", `${config.public_baseurl} is expected to reach the listener on port ${proxied.port} through a reverse proxy (x_forwarded: true)`);
    } else {
      b.warn("local.public-baseurl", `no client listener is on port ${basePort} and none has x_forwarded: true`, {
        fix: `If a reverse proxy serves ${config.public_baseurl}, set x_forwarded: true on the listener it forwards to; otherwise move the client listener to port ${basePort}.`,
      });
    }
  }

  // Step 5: delegation versus the federation listener.
  if (fedListeners.length === 0) {
    b.fail("local.well-known-ports", "no listener serves the federation resource", { fix: "Add \"federation\" to the resources of an http listener." });
  } else {
    const onPort = fedListeners.find((l) => l.port === endpoint.port);
    const proxied = fedListeners.find((l) => l.x_forwarded);
    const ports = fedListeners.map((l) => l.port).join(", ");
    if (onPort && onPort.tls) {
      b.ok("local.well-known-ports", `peers connect to ${endpoint.host}:${endpoint.port} (${endpoint.via}) and a TLS federation listener is on port ${endpoint.port}`);
    } else if (onPort && !onPort.tls && !proxied) {
      b.fail("local.well-known-ports", `peers connect to port ${endpoint.port} with TLS (${endpoint.via}), but the listener on ${endpoint.port} has tls: false`, {
        fix: `Set tls: true on the listener on port ${endpoint.port} (with tls_certificate_path and tls_private_key_path), or terminate TLS on ${endpoint.port} in a reverse proxy.`,
      });
    } else if (proxied) {
      b.ok("local.well-known-ports", `peers connect to ${endpoint.host}:${endpoint.port} (${endpoint.via}); a reverse proxy there must forward to the federation listener on port ${proxied.port}`);
    } else {
      const fix = endpoint.port === 8448
        ? `Peers will try port 8448. Either listen for federation on 8448 with TLS, or set well_known_server: "${endpoint.host}:${fedListeners[0]!.port}" and serve_server_wellknown: true (or publish /.well-known/matrix/server yourself).`
        : `Peers will try port ${endpoint.port} as delegated. Listen for federation there, or change the delegation to name port ${fedListeners[0]!.port}.`;
      b.fail("local.well-known-ports", `peers connect to port ${endpoint.port} (${endpoint.via}), but federation listens on port ${ports}`, { fix });
    }
  }

  // Step 5, continued: a listener peers connect to that binds only loopback cannot be reached from elsewhere.
  const peerListener = fedListeners.find((l) => l.port === endpoint.port);
  if (peerListener && peerListener.bind_addresses.every(isLoopback) && opts.dns) {
    b.starting(`resolving ${endpoint.host}`);
    const [six, four] = await Promise.all([opts.dns.aaaa(endpoint.host), opts.dns.a(endpoint.host)]);
    const addresses = [...(six.ok ? six.records : []), ...(four.ok ? four.records : [])].map((r) => r.address);
    const elsewhere = addresses.filter((a) => !isLoopback(a));
    const bound = peerListener.bind_addresses.join(", ");
    if (elsewhere.length > 0) {
      b.warn("local.listener-reachable", `the federation listener on port ${peerListener.port} listens only on ${bound} (loopback), but ${endpoint.host} resolves to ${elsewhere.join(", ")}: no other server can connect`, {
        fix: `Set bind_addresses on the listener on port ${peerListener.port} to an address peers can reach (e.g. ["::", "0.0.0.0"]) and restart Zion.`,
      });
    } else if (addresses.length > 0) {
      b.ok("local.listener-reachable", `the federation listener on port ${peerListener.port} listens on ${bound} and ${endpoint.host} resolves to loopback too (${addresses.join(", ")}): only this machine can federate with it`);
    } else {
      b.warn("local.listener-reachable", `the federation listener on port ${peerListener.port} listens only on ${bound} (loopback), and ${endpoint.host} does not resolve: no other server can connect`, {
        fix: `Publish an A or AAAA record for ${endpoint.host} and set bind_addresses on the listener on port ${peerListener.port} to an address peers can reach (e.g. ["::", "0.0.0.0"]).`,
      });
    }
  }

  // Step 6: whitelist.
  const wl = config.federation_domain_whitelist;
  if (config.federation_enabled === false) {
    b.warn("local.whitelist", "federation_enabled is false: this server will not federate at all", { fix: "Set federation_enabled: true to federate." });
  } else if (wl === undefined) {
    b.ok("local.whitelist", "no federation_domain_whitelist: federating with every server");
  } else if (wl.length === 0) {
    b.fail("local.whitelist", "federation_domain_whitelist is an empty list, which blocks federation with every server", {
      fix: "Remove federation_domain_whitelist to federate openly, or list the server names you want to federate with.",
    });
  } else {
    const dupes = wl.filter((n, i) => wl.indexOf(n) !== i);
    if (dupes.length) b.warn("local.whitelist", `federation_domain_whitelist lists ${dupes.join(", ")} more than once`, { fix: "Remove the duplicate entries." });
    else b.ok("local.whitelist", `federating only with ${wl.length} server${wl.length === 1 ? "" : "s"}: ${wl.slice(0, 5).join(", ")}${wl.length > 5 ? ", ..." : ""}`);
  }

  // Step 7: database.
  b.starting("opening the database");
  if (!opts.database) {
    b.warn("local.database", "the database was not checked (no storage was available to the doctor)", { fix: "Run `zion doctor` from the installed Zion so it can open the configured database." });
  } else {
    let db: (DatabaseProbe & { close?(): Promise<void> }) | undefined;
    try {
      db = await opts.database();
      await db.ping();
      const st = await db.migrationStatus();
      if (st.unknown.length > 0) {
        b.fail("local.database", `the schema has migrations this Zion does not know (${st.unknown.join(", ")}): a newer Zion wrote it`, {
          fix: "Run the newer Zion, or restore a backup made before the upgrade.",
        });
      } else if (st.pending.length > 0) {
        b.fail("local.database", `reachable, but ${st.pending.length} migration${st.pending.length === 1 ? " is" : "s are"} not applied (${st.pending.join(", ")})`, {
          fix: "Start Zion once (it migrates at start-up), then run the doctor again.",
        });
      } else {
        b.ok("local.database", `reachable (${config.database.name}), schema at version ${st.current} of ${st.latest}`);
      }
    } catch (err) {
      const message = (err as Error).message;
      const sqliteMissing = config.database.name === "sqlite3" && /does not exist/.test(message);
      b.fail("local.database", `${config.database.name}: ${message}`, sqliteMissing ? { fix: "Start Zion once (`zion start -c homeserver.yaml`): it creates and migrates the SQLite database, then run the doctor again." } : {});
    } finally {
      await db?.close?.().catch(() => undefined);
    }
  }
}
