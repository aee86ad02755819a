/**
 * Password hashing with scrypt (node:crypto, no extra dependency), a memory-hard function:
 * N = 2^15, r = 8, p = 1 (32 MiB and about 0.1 s per hash on one core), a 16-byte random salt, a 32-byte key.
 * Stored as `$scrypt$ln=15,r=8,p=1$<salt>$<key>` (unpadded base64), so the parameters can be raised later and old
 * hashes still verify. Verification compares in constant time.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** false for a wrong password or a hash in a format this hasher does not know. */
  verify(password: string, stored: string): Promise<boolean>;
}

/** The longest password accepted (as Synapse), so one request cannot make hashing arbitrarily slow. */
export const MAX_PASSWORD_BYTES = 512;

const KEY_BYTES = 32;
const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function derive(password: string, salt: Buffer, ln: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** ln;
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r * p };
  return new Promise((resolve, reject) => scrypt(password.normalize("NFKC"), salt, KEY_BYTES, options, (err, key) => (err ? reject(err) : resolve(key))));
}

const b64 = (b: Buffer): string => b.toString("base64").replace(/=+$/, "");

/** `ln` is log2 of scrypt's N; tests may lower it to keep many registrations fast (never below 10). */
export function scryptHasher(options: { ln?: number } = {}): PasswordHasher {
  const ln = Math.max(10, options.ln ?? 15);
  const r = 8;
  const p = 1;
  return {
    async hash(password) {
      const salt = randomBytes(16);
      const key = await derive(password, salt, ln, r, p);
      return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
    },
    async verify(password, stored) {
      const m = FORMAT.exec(stored);
      if (!m) return false;
      const [sln, sr, sp] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (sln < 10 || sln > 20 || sr < 1 || sp < 1) return false;
      const want = Buffer.from(m[5]!, "base64");
      const got = await derive(password, Buffer.from(m[4]!, "base64"), sln, sr, sp);
      return want.length === got.length && timingSafeEqual(want, got);
    },
  };
}
