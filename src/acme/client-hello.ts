/**
 * Just enough of a TLS ClientHello parser to read the server name (RFC 6066 section 3) and the offered ALPN
 * protocols (RFC 7301 section 3.1), so a TLS-ALPN-01 validation can be told apart from ordinary clients before
 * the handshake picks a certificate. Anything malformed yields undefined (the connection then goes to the
 * ordinary listener, which will refuse it as it always would).
 */

export interface ClientHelloSummary {
  readonly servername?: string;
  readonly alpn: readonly string[];
}

/** The length of the first TLS record including its 5-byte header, or undefined when not a handshake record. */
export function firstRecordLength(buf: Uint8Array): number | undefined {
  if (buf.length < 5) return undefined;
  if (buf[0] !== 0x16) return undefined;
  return 5 + ((buf[3]! << 8) | buf[4]!);
}

export function parseClientHello(buf: Buffer): ClientHelloSummary | undefined {
  try {
    // Step 1: the record header (type 22 = handshake), then the handshake header (type 1 = ClientHello).
    const total = firstRecordLength(buf);
    if (total === undefined) return undefined;
    const end = Math.min(total, buf.length);
    let p = 5;
    if (buf[p] !== 0x01) return undefined;
    p += 4; // msg type + 24-bit length
    // Step 2: version, random, session id, cipher suites, compression methods.
    p += 2 + 32;
    p += 1 + buf.readUInt8(p);
    p += 2 + buf.readUInt16BE(p);
    p += 1 + buf.readUInt8(p);
    if (p + 2 > end) return { alpn: [] };
    // Step 3: extensions.
    const extEnd = Math.min(end, p + 2 + buf.readUInt16BE(p));
    p += 2;
    let servername: string | undefined;
    const alpn: string[] = [];
    while (p + 4 <= extEnd) {
      const type = buf.readUInt16BE(p);
      const len = buf.readUInt16BE(p + 2);
      const data = buf.subarray(p + 4, Math.min(p + 4 + len, extEnd));
      p += 4 + len;
      if (type === 0x0000 && data.length >= 5) {
        // server_name list: list length, then (name type 0 = host_name, length, name).
        let q = 2;
        while (q + 3 <= data.length) {
          const nameType = data[q]!;
          const nameLen = data.readUInt16BE(q + 1);
          if (nameType === 0) servername = data.subarray(q + 3, q + 3 + nameLen).toString("latin1");
          q += 3 + nameLen;
        }
      } else if (type === 0x0010 && data.length >= 2) {
        // ALPN: list length, then (length byte, protocol name)*.
        let q = 2;
        while (q < data.length) {
          const n = data[q]!;
          alpn.push(data.subarray(q + 1, q + 1 + n).toString("latin1"));
          q += 1 + n;
        }
      }
    }
    return servername === undefined ? { alpn } : { servername, alpn };
  } catch {
    return undefined;
  }
}
