/**
 * Files the ACME layer keeps: the account key and the issued certificate with its key, all mode 0600, written to a
 * temporary name and renamed so a reader never sees half a file.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AcmeLog, CertificatePair } from "./options.js";

export const CERTIFICATE_FILE = "certificate.pem";
export const PRIVATE_KEY_FILE = "private-key.pem";
/** The renewal state, for `zion doctor` (another process) to read. */
export const STATUS_FILE = "status.json";

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

/** Writes `data` to `path` with mode 0600 atomically (temporary file in the same directory, then rename). */
export async function writeSecretFile(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, data, { mode: 0o600, flag: "wx" });
  await chmod(tmp, 0o600); // the umask cannot widen 0600, but be explicit
  await rename(tmp, path);
}

/** Tightens a secret file to 0600 when it is readable by group or others, saying so. */
async function tighten(path: string, log: AcmeLog): Promise<void> {
  const st = await stat(path);
  if ((st.mode & 0o077) !== 0) {
    await chmod(path, 0o600);
    log.warn({ path, mode: (st.mode & 0o777).toString(8) }, "acme: secret file was readable by others; set it to 0600");
  }
}

/** Reads the ACME account key, creating an EC P-256 key (mode 0600) when the file does not exist. */
export async function loadOrCreateAccountKey(path: string, log: AcmeLog): Promise<string> {
  try {
    const pem = await readFile(path, "utf8");
    await tighten(path, log);
    return pem;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  await writeSecretFile(path, pem);
  log.info({ path }, "acme: created a new account key");
  return pem;
}

/** The stored certificate and key, or undefined when there is none yet. */
export async function readStoredPair(storageDir: string, log: AcmeLog): Promise<CertificatePair | undefined> {
  const certPath = join(storageDir, CERTIFICATE_FILE);
  const keyPath = join(storageDir, PRIVATE_KEY_FILE);
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
    await tighten(keyPath, log);
    await tighten(certPath, log);
    return { certPem, keyPem };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Stores a certificate and key (key first, so a crash in between leaves a mismatch that the loader refuses). */
export async function writeStoredPair(storageDir: string, pair: CertificatePair): Promise<void> {
  await mkdir(storageDir, { recursive: true, mode: 0o700 });
  await writeSecretFile(join(storageDir, PRIVATE_KEY_FILE), pair.keyPem);
  await writeSecretFile(join(storageDir, CERTIFICATE_FILE), pair.certPem);
}

/** Writes the renewal status beside the certificate (JSON, atomically). */
export async function writeStatusFile(storageDir: string, status: unknown): Promise<void> {
  await writeSecretFile(join(storageDir, STATUS_FILE), JSON.stringify(status, null, 2) + "\n");
}

/** The last status a running server wrote, or undefined when there is none or it is unreadable. */
export async function readStatusFile(storageDir: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(storageDir, STATUS_FILE), "utf8")) as unknown;
  } catch {
    return undefined;
  }
}
