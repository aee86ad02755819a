/**
 * The check catalogue: every check the tester and the doctor can report, with
 * its title and the default fix in plain words. A check that warns or fails
 * may give a more specific fix; when it does not, this one is shown.
 *
 * Server-name resolution follows https://spec.matrix.org/v1.16/server-server-api/#resolving-server-names
 */
export interface CatalogueEntry {
  readonly title: string;
  readonly fix: string;
}

const entries = {
  // Server name
  "name.valid": {
    title: "Server name is valid",
    fix: "Use a server name of the form host or host:port: a DNS name of letters, digits, '-' and '.', an IPv4 address or an [IPv6] literal.",
  },
  // /.well-known/matrix/server
  "well-known.fetch": {
    title: "/.well-known/matrix/server is served",
    fix: "Serve https://<host>/.well-known/matrix/server on port 443 with status 200, or delegate with an SRV record, or run the federation listener on port 8448 of the server name itself.",
  },
  "well-known.redirects": {
    title: "/.well-known/matrix/server redirects",
    fix: "Serve the file directly at https://<host>/.well-known/matrix/server; redirects work but each hop is another point of failure.",
  },
  "well-known.content-type": {
    title: "/.well-known/matrix/server Content-Type",
    fix: "Serve the file with 'Content-Type: application/json' (in nginx: `default_type application/json;` in that location block).",
  },
  "well-known.json": {
    title: "/.well-known/matrix/server is a JSON object",
    fix: "Make the file a JSON object such as {\"m.server\": \"matrix.example.org:443\"}.",
  },
  "well-known.m-server": {
    title: "/.well-known/matrix/server names a valid m.server",
    fix: "Set \"m.server\" to the host (and port) where federation is served, for example {\"m.server\": \"matrix.example.org:443\"}.",
  },
  "well-known.client-pasted": {
    title: "/.well-known/matrix/server is not the client file",
    fix: "This file holds the client well-known (m.homeserver). Move it to /.well-known/matrix/client and put {\"m.server\": \"<federation host>:<port>\"} in /.well-known/matrix/server.",
  },
  "well-known.addresses": {
    title: "/.well-known/matrix/server on every address",
    fix: "Serve the same /.well-known/matrix/server from every address of the server name (each A/AAAA record), or remove the records of machines that do not serve it.",
  },
  "well-known.cache": {
    title: "/.well-known/matrix/server cache lifetime",
    fix: "Send a Cache-Control max-age between one hour and a day so peers neither hammer the file nor keep a stale answer for long.",
  },
  // SRV
  "srv.matrix-fed": {
    title: "SRV _matrix-fed._tcp",
    fix: "Point _matrix-fed._tcp.<host> at the federation host and port, or remove it and rely on .well-known or port 8448.",
  },
  "srv.matrix": {
    title: "SRV _matrix._tcp (deprecated)",
    fix: "_matrix._tcp is deprecated since Matrix v1.8: add the same record as _matrix-fed._tcp and keep the old one only for older servers.",
  },
  "srv.cname": {
    title: "SRV targets are not CNAMEs",
    fix: "An SRV target must be a name with A/AAAA records, not a CNAME (RFC 2782): point the SRV record at the canonical host name.",
  },
  "srv.ignored": {
    title: "SRV records in use",
    fix: "Remove SRV records that are never consulted, or make them agree with the delegation that is, so the next person is not misled.",
  },
  "resolution.target": {
    title: "Federation target",
    fix: "Publish one of: /.well-known/matrix/server, an SRV record _matrix-fed._tcp, or a federation listener on port 8448 of the server name.",
  },
  // DNS
  "dns.host": {
    title: "Host resolves to addresses",
    fix: "Add A and/or AAAA records for the host (or fix the name in .well-known or SRV).",
  },
  "dns.addresses": {
    title: "At least one address to test",
    fix: "Make the federation host resolve to at least one address in DNS.",
  },
  // Per address
  "conn.tcp": {
    title: "TCP connect",
    fix: "Make sure the homeserver (or its reverse proxy) listens on this address and port, and that no firewall drops the connection; or remove the DNS record for a dead address.",
  },
  "tls.handshake": {
    title: "TLS handshake",
    fix: "Serve TLS on the federation port (HTTPS, not plain HTTP) with TLS 1.2 or 1.3.",
  },
  "tls.chain": {
    title: "Certificate chain",
    fix: "Serve the full chain (the certificate followed by its intermediates, e.g. fullchain.pem) from a CA the remote servers trust.",
  },
  "tls.name": {
    title: "Certificate is valid for the expected name",
    fix: "Get a certificate whose subjectAltName lists the name servers connect to (the delegated host, or the server name).",
  },
  "tls.cn-san": {
    title: "Certificate name in subjectAltName",
    fix: "Re-issue the certificate with the name in subjectAltName: clients ignore the Common Name.",
  },
  "tls.wildcard": {
    title: "Wildcard certificate",
    fix: "A wildcard covers one label only: *.example.org covers matrix.example.org but not example.org or a.b.example.org.",
  },
  "tls.expiry": {
    title: "Certificate expiry",
    fix: "Renew the certificate (and make renewal automatic, e.g. certbot's timer) and reload the server.",
  },
  // Keys and version
  "keys.fetch": {
    title: "GET /_matrix/key/v2/server",
    fix: "Route /_matrix/key/v2/server to the homeserver on this address.",
  },
  "keys.server-name": {
    title: "Keys name the right server",
    fix: "Set server_name in the homeserver's configuration to the name being tested, or fix the proxy that sends this host to another homeserver.",
  },
  "keys.valid-until": {
    title: "Keys valid_until_ts is in the future",
    fix: "The homeserver publishes expired keys: check the server clock (NTP) and restart it so it republishes its keys.",
  },
  "keys.signature": {
    title: "Keys are self-signed correctly",
    fix: "The key response's signature does not verify with its own key: check that signing_key_path holds the key the server publishes, and that no proxy rewrites the JSON.",
  },
  "keys.consistent": {
    title: "Same keys on every address",
    fix: "Every address must serve the same homeserver: stop the old or other server behind one of the addresses, or remove its DNS record.",
  },
  "version": {
    title: "GET /_matrix/federation/v1/version",
    fix: "Route /_matrix/federation/v1/* to the homeserver.",
  },
  // Client side
  "client.well-known": {
    title: "/.well-known/matrix/client",
    fix: "Serve https://<host>/.well-known/matrix/client with {\"m.homeserver\": {\"base_url\": \"https://matrix.example.org\"}} so clients find the homeserver.",
  },
  "client.cors": {
    title: "/.well-known/matrix/client CORS header",
    fix: "Add the header 'Access-Control-Allow-Origin: *' to /.well-known/matrix/client so web clients can read it.",
  },
  "client.versions": {
    title: "GET /_matrix/client/versions at base_url",
    fix: "Route /_matrix/client/* at base_url to the homeserver's client listener.",
  },
  // With -c: our own identity
  "policy.whitelist": {
    title: "Target allowed by our federation_domain_whitelist",
    fix: "Add the server name to federation_domain_whitelist in homeserver.yaml, or remove the whitelist to federate with everyone.",
  },
  "policy.ip-ranges": {
    title: "Target addresses allowed by our IP ranges",
    fix: "The target resolves to an address in ip_range_blacklist: remove that range or add the address to ip_range_whitelist.",
  },
  "reach-back": {
    title: "Signed request: the target can discover and verify us",
    fix: "The target could not authenticate our request: run `zion federation-test <our server_name>` from outside to see why it cannot discover us or fetch our keys.",
  },
  // Doctor: local setup
  "local.config": {
    title: "Configuration loads",
    fix: "Fix the configuration key named in the message.",
  },
  "local.tls-files": {
    title: "TLS certificate and key files are readable",
    fix: "Point tls_certificate_path and tls_private_key_path at readable PEM files (check the path and file permissions for the user running Zion).",
  },
  "local.tls-key-match": {
    title: "TLS key matches the certificate",
    fix: "tls_private_key_path holds a key that does not belong to the certificate: use the key generated with this certificate (e.g. privkey.pem next to fullchain.pem).",
  },
  "local.tls-chain": {
    title: "Certificate is issued by a CA peers trust",
    fix: "Use a certificate from a public CA (e.g. Let's Encrypt, or `acme: {enabled: true}`); on a private federation, every peer must list your CA in federation_custom_ca_list.",
  },
  "local.tls-names": {
    title: "Certificate covers the federation name",
    fix: "Get a certificate whose subjectAltName lists the server name, or the delegated host named in .well-known/SRV.",
  },
  "local.tls-expiry": {
    title: "Certificate expiry",
    fix: "Renew the certificate (and make renewal automatic) before it expires.",
  },
  "local.signing-key": {
    title: "Signing key is valid",
    fix: "signing_key_path must hold lines 'ed25519 <version> <base64 seed>': regenerate it with `zion generate-config` if it is lost (peers will fetch the new key).",
  },
  "local.public-baseurl": {
    title: "public_baseurl matches the listeners",
    fix: "Set public_baseurl to the https URL clients use, whose proxy forwards to a listener with the client resource.",
  },
  "local.well-known-ports": {
    title: "Delegation matches the federation listener",
    fix: "Without delegation peers connect to port 8448: either listen for federation on 8448, or serve /.well-known/matrix/server naming the port you use (e.g. 443 behind a proxy).",
  },
  "local.listener-reachable": {
    title: "Federation listener is reachable from other machines",
    fix: "Bind the federation listener to an address other servers can reach (bind_addresses: [\"::\", \"0.0.0.0\"]) and restart Zion.",
  },
  "local.whitelist": {
    title: "federation_domain_whitelist is sane",
    fix: "List valid server names in federation_domain_whitelist, including the servers of the rooms you need; an empty list blocks all federation.",
  },
  "local.acme": {
    title: "ACME certificate renewal",
    fix: "Check that the ACME challenge can reach this server (port 80 for http-01, 443 for tls-alpn-01) and that the domains resolve here; the last error names the cause.",
  },
  "local.database": {
    title: "Database reachable and migrated",
    fix: "Check the database section of homeserver.yaml (host, user, password, database name) and that the database server is running; start Zion once to apply migrations.",
  },
} as const satisfies Record<string, CatalogueEntry>;

export type CheckId = keyof typeof entries;

export const CATALOGUE: Readonly<Record<CheckId, CatalogueEntry>> = entries;

export function isCheckId(id: string): id is CheckId {
  return Object.prototype.hasOwnProperty.call(entries, id);
}
