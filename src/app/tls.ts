/**
 * The TLS listeners' secure context, made in one place so the certificate can
 * be swapped live (ACME renewal): build the options with `loadTlsOptions`, or
 * from PEM text with `tlsOptionsFromPem`, then `server.setSecureContext(opts)`
 * on each https server (`Homeserver.tlsServers()`).
 */
import { readFileSync } from "node:fs";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { StartupError, errnoCode } from "./errors.js";

export interface TlsPaths {
  readonly certificatePath: string;
  readonly privateKeyPath: string;
}

/** Checks that the PEM texts are a certificate (chain) and the private key of its leaf; returns options for tls. */
export function tlsOptionsFromPem(certPem: string, keyPem: string, where: { cert: string; key: string } = { cert: "certificate", key: "private key" }): SecureContextOptions {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (e) {
    throw new StartupError([`tls_certificate_path: ${where.cert} is not a PEM certificate (${(e as Error).message})`]);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new StartupError([`tls_private_key_path: ${where.key} is not a PEM private key (${(e as Error).message})`]);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new StartupError([`tls_private_key_path: ${where.key} is not the private key of the certificate ${where.cert} (subject ${leaf.subject.replace(/\n/g, ", ")})`]);
  }
  const options: SecureContextOptions = { cert: certPem, key: keyPem, minVersion: "TLSv1.2" };
  createSecureContext(options); // throws now rather than at the first handshake
  return options;
}

/** Reads and checks the configured certificate and key (before anything is bound). */
export function loadTlsOptions(paths: TlsPaths): SecureContextOptions {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(paths.certificatePath, "utf8");
  } catch (e) {
    throw new StartupError([`tls_certificate_path: cannot read ${paths.certificatePath}: ${errnoCode(e)}`]);
  }
  try {
    key = readFileSync(paths.privateKeyPath, "utf8");
  } catch (e) {
    throw new StartupError([`tls_private_key_path: cannot read ${paths.privateKeyPath}: ${errnoCode(e)}`]);
  }
  return tlsOptionsFromPem(cert, key, { cert: paths.certificatePath, key: paths.privateKeyPath });
}
