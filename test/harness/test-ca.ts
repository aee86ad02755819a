/**
 * A test certificate authority built with the `openssl` command line tool.
 *
 * It writes PEM files into a directory the caller owns (usually a temp dir
 * removed in `after()`): a root CA, an intermediate CA signed by the root, and
 * leaf certificates with the DNS and IP subjectAltNames a test asks for. The
 * variants federation tests need:
 *
 *   correct             ca.issue({ dns: ["hs1.test"] })
 *   wrong name          ca.issue({ dns: ["other.test"] }) and connect expecting hs1.test
 *   expired             ca.issue({ dns: [...], expired: true })
 *   not yet valid       ca.issue({ dns: [...], notYetValid: true })
 *   self-signed         ca.selfSigned({ dns: [...] })
 *   wildcard            ca.issue({ dns: ["*.example.test"] })
 *   IP SAN              ca.issue({ ip: ["127.0.2.1"] })
 *   via intermediate    ca.issue({ dns: [...], viaIntermediate: true }); serve `chainPem` (leaf + intermediate)
 *   missing intermediate  the same leaf, but serve `certPem` alone: a client trusting only the root cannot
 *                       build the chain
 *
 * Trust the root with `ca.caCertPem` / `ca.caCertPath` (what `federation_custom_ca_list` would list).
 * Keys are EC P-256, fast to generate. Issuing is serialised (`openssl ca` keeps an index file).
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket, SecureVersion } from "node:tls";

const run = promisify(execFile);

export interface IssueOptions {
  /** DNS subjectAltNames, e.g. "hs1.test" or "*.example.test". */
  readonly dns?: readonly string[];
  /** IP subjectAltNames, e.g. "127.0.2.1" or "::1". */
  readonly ip?: readonly string[];
  /** Subject common name; defaults to the first DNS name, else the first IP, else "zion-test-leaf". */
  readonly commonName?: string;
  /** Validity from now, in days (default 30). Ignored when `expired` or `notYetValid`. */
  readonly notAfterDays?: number;
  /** Valid from 10 days ago until 1 day ago. */
  readonly expired?: boolean;
  /** Valid from 1 day from now for 30 days. */
  readonly notYetValid?: boolean;
  /** Signed by the intermediate CA instead of the root. */
  readonly viaIntermediate?: boolean;
  /** File name stem under the CA dir (default: a counter). */
  readonly name?: string;
}

export interface IssuedCert {
  /** The leaf certificate alone. Served alone for a `viaIntermediate` leaf, this is the "missing intermediate" case. */
  readonly certPath: string;
  readonly certPem: string;
  readonly keyPath: string;
  readonly keyPem: string;
  /** Leaf followed by the intermediate when `viaIntermediate`, else the leaf alone: what a server should serve. */
  readonly chainPath: string;
  readonly chainPem: string;
}

export interface TestCa {
  readonly dir: string;
  /** The root certificate: the one trust anchor clients should be given. */
  readonly caCertPath: string;
  readonly caCertPem: string;
  readonly intermediateCertPath: string;
  readonly intermediateCertPem: string;
  issue(opts: IssueOptions): Promise<IssuedCert>;
  /** A self-signed leaf not issued by this CA (no client trusting the root accepts it). */
  selfSigned(opts: Omit<IssueOptions, "viaIntermediate">): Promise<IssuedCert>;
}

async function openssl(args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run("openssl", [...args], { maxBuffer: 4 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message ?? String(err)}`);
  }
}

async function newKey(path: string): Promise<void> {
  await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path]);
}

/** UTCTime as `openssl ca -startdate/-enddate` accepts it: YYMMDDHHMMSSZ. */
function asn1Time(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) +
    p(d.getUTCHours()) + p(d.getUTCMinutes()) + p(d.getUTCSeconds()) + "Z"
  );
}

function caConfig(dir: string): string {
  return [
    "[ ca ]",
    "default_ca = zion_test_ca",
    "[ zion_test_ca ]",
    `database = ${join(dir, "index.txt")}`,
    `new_certs_dir = ${join(dir, "newcerts")}`,
    `serial = ${join(dir, "serial")}`,
    "default_md = sha256",
    "policy = policy_any",
    "unique_subject = no",
    "copy_extensions = none",
    "email_in_dn = no",
    "[ policy_any ]",
    "commonName = optional",
    "",
  ].join("\n");
}

/** Creates a root and an intermediate CA under `dir` (which must exist or be creatable). */
export async function createTestCa(dir: string): Promise<TestCa> {
  await mkdir(join(dir, "newcerts"), { recursive: true });
  await writeFile(join(dir, "index.txt"), "");
  await writeFile(join(dir, "serial"), "1000\n");
  const confPath = join(dir, "ca.cnf");
  await writeFile(confPath, caConfig(dir));

  const caKeyPath = join(dir, "root.key");
  const caCertPath = join(dir, "root.crt");
  await newKey(caKeyPath);
  await openssl([
    "req", "-x509", "-new", "-key", caKeyPath, "-sha256", "-days", "3650", "-subj", "/CN=Zion Test Root CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-addext", "subjectKeyIdentifier=hash",
    "-out", caCertPath,
  ]);

  // Everything that touches index.txt/serial goes through this chain, one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };

  const signWith = async (
    signerCert: string, signerKey: string, csrPath: string, outPath: string, extPath: string,
    startMs: number, endMs: number,
  ): Promise<void> =>
    serial(async () => {
      await openssl([
        "ca", "-batch", "-config", confPath, "-notext", "-md", "sha256",
        "-cert", signerCert, "-keyfile", signerKey, "-in", csrPath, "-out", outPath,
        "-extfile", extPath, "-extensions", "ext",
        "-startdate", asn1Time(startMs), "-enddate", asn1Time(endMs),
      ]);
    });

  const now = Date.now();
  const DAY = 86_400_000;

  const intKeyPath = join(dir, "intermediate.key");
  const intCsrPath = join(dir, "intermediate.csr");
  const intCertPath = join(dir, "intermediate.crt");
  const intExtPath = join(dir, "intermediate.ext");
  await newKey(intKeyPath);
  await openssl(["req", "-new", "-key", intKeyPath, "-subj", "/CN=Zion Test Intermediate CA", "-out", intCsrPath]);
  await writeFile(
    intExtPath,
    "[ ext ]\nbasicConstraints = critical, CA:TRUE, pathlen:0\nkeyUsage = critical, keyCertSign, cRLSign\n" +
      "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
  );
  await signWith(caCertPath, caKeyPath, intCsrPath, intCertPath, intExtPath, now - DAY, now + 3650 * DAY);

  const caCertPem = await readFile(caCertPath, "utf8");
  const intermediateCertPem = await readFile(intCertPath, "utf8");
  let counter = 0;

  const leafFiles = (opts: IssueOptions, prefix: string) => {
    const stem = opts.name ?? `${prefix}-${++counter}`;
    return {
      key: join(dir, `${stem}.key`),
      csr: join(dir, `${stem}.csr`),
      cert: join(dir, `${stem}.crt`),
      chain: join(dir, `${stem}.chain.crt`),
      ext: join(dir, `${stem}.ext`),
    };
  };

  const sanLine = (opts: IssueOptions): string | undefined => {
    const sans = [...(opts.dns ?? []).map((d) => `DNS:${d}`), ...(opts.ip ?? []).map((i) => `IP:${i}`)];
    return sans.length > 0 ? sans.join(", ") : undefined;
  };
  const commonName = (opts: IssueOptions): string =>
    opts.commonName ?? opts.dns?.[0] ?? opts.ip?.[0] ?? "zion-test-leaf";
  const validity = (opts: IssueOptions): [number, number] => {
    if (opts.expired) return [now - 10 * DAY, now - DAY];
    if (opts.notYetValid) return [Date.now() + DAY, Date.now() + 31 * DAY];
    return [Date.now() - 60_000, Date.now() + (opts.notAfterDays ?? 30) * DAY];
  };

  const ca: TestCa = {
    dir,
    caCertPath,
    caCertPem,
    intermediateCertPath: intCertPath,
    intermediateCertPem,

    async issue(opts) {
      const f = leafFiles(opts, "leaf");
      await newKey(f.key);
      await openssl(["req", "-new", "-key", f.key, "-subj", `/CN=${commonName(opts)}`, "-out", f.csr]);
      const san = sanLine(opts);
      await writeFile(
        f.ext,
        "[ ext ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n" +
          "extendedKeyUsage = serverAuth, clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n" +
          (san ? `subjectAltName = ${san}\n` : ""),
      );
      const [start, end] = validity(opts);
      if (opts.viaIntermediate) await signWith(intCertPath, intKeyPath, f.csr, f.cert, f.ext, start, end);
      else await signWith(caCertPath, caKeyPath, f.csr, f.cert, f.ext, start, end);
      const certPem = await readFile(f.cert, "utf8");
      const chainPem = opts.viaIntermediate ? certPem + intermediateCertPem : certPem;
      await writeFile(f.chain, chainPem);
      return { certPath: f.cert, certPem, keyPath: f.key, keyPem: await readFile(f.key, "utf8"), chainPath: f.chain, chainPem };
    },

    async selfSigned(opts) {
      const f = leafFiles(opts, "self-signed");
      await newKey(f.key);
      const san = sanLine(opts);
      const days = opts.expired ? 1 : (opts.notAfterDays ?? 30);
      await openssl([
        "req", "-x509", "-new", "-key", f.key, "-sha256", "-days", String(days), "-subj", `/CN=${commonName(opts)}`,
        "-addext", "basicConstraints=critical,CA:FALSE",
        "-addext", "extendedKeyUsage=serverAuth,clientAuth",
        ...(san ? ["-addext", `subjectAltName=${san}`] : []),
        "-out", f.cert,
      ]);
      const certPem = await readFile(f.cert, "utf8");
      await writeFile(f.chain, certPem);
      return { certPath: f.cert, certPem, keyPath: f.key, keyPem: await readFile(f.key, "utf8"), chainPath: f.chain, chainPem: certPem };
    },
  };
  return ca;
}

// ---------------------------------------------------------------------------
// A small HTTPS server for tests that need a real TLS peer with one of the certificates above.
// ---------------------------------------------------------------------------

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly host: string | undefined;
  /** The SNI the client sent, or false when it sent none. */
  readonly sni: string | false;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
  /** Which TCP connection carried it (1-based, per server). */
  readonly connection: number;
}

export interface TestHttpsServer {
  readonly host: string;
  readonly port: number;
  readonly requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export type TestHandler = (req: SeenRequest, res: ServerResponse) => void;

/** Serves HTTPS on host:port (port 0 for an ephemeral one) with `served` (use `chainPem` to include intermediates). */
export async function serveHttps(
  host: string, port: number, served: { certPem: string; keyPem: string } | { chainPem: string; keyPem: string },
  handler: TestHandler, opts: { maxVersion?: SecureVersion } = {},
): Promise<TestHttpsServer> {
  const cert = "chainPem" in served ? served.chainPem : served.certPem;
  const requests: SeenRequest[] = [];
  let connectionCount = 0;
  const ids = new WeakMap<object, number>();
  const server = https.createServer({ cert, key: served.keyPem, ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const sock = req.socket as TLSSocket;
      const seen: SeenRequest = {
        method: req.method ?? "", url: req.url ?? "", host: req.headers.host,
        sni: (sock as TLSSocket & { servername?: string | false }).servername ?? false,
        headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), connection: ids.get(sock) ?? 0,
      };
      requests.push(seen);
      handler(seen, res);
    });
  });
  server.on("secureConnection", (s) => { ids.set(s, ++connectionCount); });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as import("node:net").AddressInfo;
  return {
    host, port: addr.port, requests,
    connections: () => connectionCount,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** A handler answering JSON. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): TestHandler {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };
}
