/**
 * TLS-ALPN-01 on the TLS listener itself (RFC 8737). While a validation is pending, each new connection's
 * ClientHello is read before the handshake: one that offers only the `acme-tls/1` protocol for a name with a
 * pending challenge is handed to a small TLS server presenting the acmeIdentifier certificate; everything else
 * goes to the listener's own handshake untouched. With no challenge pending, connections are not even peeked at.
 */
import type { Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { ChallengeResponder } from "./challenges.js";
import { firstRecordLength, parseClientHello } from "./client-hello.js";

export const ACME_TLS_ALPN = "acme-tls/1";

/** Reads the first TLS record without consuming it (the bytes are pushed back for the real handshake). */
function peekFirstRecord(socket: Socket, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const done = (result: Buffer | undefined) => {
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      socket.removeListener("error", onEnd);
      socket.pause();
      if (buf.length > 0) socket.unshift(buf);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const need = firstRecordLength(buf);
      if (buf.length >= 5 && need === undefined) done(undefined); // not a handshake: let TLS refuse it
      else if (need !== undefined && (buf.length >= need || buf.length >= 16_389)) done(buf);
    };
    const onEnd = () => done(undefined);
    const timer = setTimeout(() => done(buf.length > 0 ? buf : undefined), timeoutMs);
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("error", onEnd);
  });
}

export interface TlsAlpnRouter {
  /** Restores the listener's own connection handling. */
  detach(): void;
}

/**
 * Routes `acme-tls/1` validations arriving on `server` to the challenge certificates in `responder`. Works for
 * any `tls.Server` (and so `https.Server`), whose connection handling is its `connection` listener.
 */
export function attachTlsAlpnChallenges(server: Server, responder: ChallengeResponder, opts: { peekTimeoutMs?: number } = {}): TlsAlpnRouter {
  const peekTimeoutMs = opts.peekTimeoutMs ?? 5000;
  const originals = server.listeners("connection") as Array<(socket: Socket) => void>;
  const challengeServer = createServer({
    ALPNProtocols: [ACME_TLS_ALPN],
    SNICallback: (name, cb) => {
      const ctx = responder.alpnContext(name);
      if (ctx) cb(null, ctx);
      else cb(new Error(`no TLS-ALPN-01 challenge pending for ${name}`));
    },
  });
  // RFC 8737 section 3: the validation only needs the handshake; close once it is done.
  challengeServer.on("secureConnection", (s: TLSSocket) => s.end());
  challengeServer.on("tlsClientError", () => { /* the CA gave up or the name had no challenge */ });

  const toOriginal = (socket: Socket) => {
    for (const l of originals) l.call(server, socket);
  };
  const router = (socket: Socket) => {
    if (!responder.hasAlpn()) {
      toOriginal(socket);
      return;
    }
    void peekFirstRecord(socket, peekTimeoutMs).then((record) => {
      if (socket.destroyed) return;
      const hello = record ? parseClientHello(record) : undefined;
      const isValidation =
        hello !== undefined && hello.alpn.length > 0 && hello.alpn.every((p) => p === ACME_TLS_ALPN) &&
        responder.alpnContext(hello.servername) !== undefined;
      if (isValidation) challengeServer.emit("connection", socket);
      else toOriginal(socket);
    });
  };
  for (const l of originals) server.removeListener("connection", l);
  server.on("connection", router);
  return {
    detach() {
      server.removeListener("connection", router);
      for (const l of originals) server.on("connection", l);
    },
  };
}
