/**
 * Challenge responses currently being offered to the CA. The order flow adds them before telling the CA to
 * validate and removes them afterwards; the HTTP-01 listener and the TLS-ALPN-01 router read them.
 */
import { createSecureContext, type SecureContext } from "node:tls";

export class ChallengeResponder {
  readonly #http = new Map<string, string>();
  readonly #alpn = new Map<string, SecureContext>();

  /** HTTP-01 (RFC 8555 section 8.3): `token` is answered with `keyAuthorization`. */
  addHttp(token: string, keyAuthorization: string): void {
    this.#http.set(token, keyAuthorization);
  }

  removeHttp(token: string): void {
    this.#http.delete(token);
  }

  httpResponse(token: string): string | undefined {
    return this.#http.get(token);
  }

  /** TLS-ALPN-01 (RFC 8737 section 3): the self-signed acmeIdentifier certificate for `domain`. */
  addAlpn(domain: string, certPem: string, keyPem: string): void {
    this.#alpn.set(domain.toLowerCase(), createSecureContext({ cert: certPem, key: keyPem }));
  }

  removeAlpn(domain: string): void {
    this.#alpn.delete(domain.toLowerCase());
  }

  alpnContext(servername: string | undefined): SecureContext | undefined {
    return servername === undefined ? undefined : this.#alpn.get(servername.toLowerCase());
  }

  /** Whether any TLS-ALPN-01 challenge is pending (the router only peeks at handshakes while one is). */
  hasAlpn(): boolean {
    return this.#alpn.size > 0;
  }
}
