/**
 * The playground's throwaway certificate authority (`zion playground`), made with openssl as the development
 * certificate is: a root CA (`ca.crt`, `ca.key`) and, per server, a certificate for its name and address signed by
 * it. Every playground server trusts only this CA for federation (`federation_custom_ca_list`), so they verify each
 * other's certificates for real, as servers on the internet do with public CAs.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StartupError } from "./errors.js";

function openssl(args: readonly string[]): void {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new StartupError([`openssl ${args[0]} failed (is openssl installed?): ${stderr || (e as Error).message}`]);
  }
}

export interface PlaygroundCa {
  readonly certPath: string;
  /** A certificate for `name` (and `ip`), signed by the CA: its PEM files. */
  issue(name: string, ip: string, dir: string): { certPath: string; keyPath: string };
}

export function createPlaygroundCa(dir: string, days = 30): PlaygroundCa {
  mkdirSync(dir, { recursive: true });
  const keyPath = join(dir, "ca.key");
  const certPath = join(dir, "ca.crt");
  openssl([
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyPath, "-out", certPath,
    "-days", String(days), "-subj", "/CN=Zion playground CA (throwaway)",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  chmodSync(keyPath, 0o600);
  return {
    certPath,
    issue(name, ip, outDir) {
      mkdirSync(outDir, { recursive: true });
      const leafKey = join(outDir, "tls.key");
      const leafCert = join(outDir, "tls.crt");
      const csr = join(outDir, "tls.csr");
      const ext = join(outDir, "tls.ext");
      openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", leafKey, "-out", csr, "-subj", `/CN=${name}`]);
      writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${name},IP:${ip}\n`);
      openssl(["x509", "-req", "-in", csr, "-CA", certPath, "-CAkey", keyPath, "-CAcreateserial", "-out", leafCert, "-days", String(days), "-sha256", "-extfile", ext]);
      chmodSync(leafKey, 0o600);
      return { certPath: leafCert, keyPath: leafKey };
    },
  };
}
