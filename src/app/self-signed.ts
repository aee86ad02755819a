/** A self-signed certificate for development (dev mode, generate-config), made with openssl. */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { isIP } from "node:net";
import { StartupError } from "./errors.js";

export function generateSelfSignedCertificate(host: string, certPath: string, keyPath: string, days = 3650): void {
  mkdirSync(dirname(certPath), { recursive: true });
  mkdirSync(dirname(keyPath), { recursive: true });
  const sans = isIP(host) ? [`IP:${host}`] : [`DNS:${host}`];
  if (host === "localhost") sans.push("IP:127.0.0.1", "IP:::1");
  try {
    execFileSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", keyPath, "-out", certPath, "-days", String(days),
        "-subj", `/CN=${host}`, "-addext", `subjectAltName=${sans.join(",")}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new StartupError([`could not create a self-signed certificate with openssl (is it installed?): ${stderr || (e as Error).message}`]);
  }
  chmodSync(keyPath, 0o600);
}
