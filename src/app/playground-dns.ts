/**
 * The playground's DNS server (`zion playground`): a real DNS server on loopback, UDP and TCP, answering A records
 * for the playground's server names and nothing else, so each server finds the others by name through its
 * `dns_servers` exactly as it would on the internet. Built on dns2 (pure JavaScript, no dependencies), so the
 * playground needs no dnsmasq or root.
 *
 * Known name, type A: the address (TTL 60). Known name, other type (AAAA, SRV): NOERROR without answers (NODATA).
 * Unknown name (`_matrix-fed._tcp.<name>` included): NXDOMAIN, which resolution reads as "no such record".
 */
import dns2 from "dns2";

export interface PlaygroundDns {
  /** "ip:port", the form `dns_servers` takes. */
  readonly server: string;
  close(): Promise<void>;
}

const NXDOMAIN = 3;

/** Starts the server on `host`:`port` (UDP and TCP); port 0 tries random ports in 20000-59999 until both bind. */
export async function startPlaygroundDns(host: string, port: number, records: ReadonlyMap<string, string>): Promise<PlaygroundDns> {
  let lastError: unknown;
  for (let attempt = 0; attempt < (port === 0 ? 20 : 1); attempt++) {
    const p = port === 0 ? 20000 + Math.floor(Math.random() * 40000) : port;
    try {
      return await listenOn(host, p, records);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

async function listenOn(host: string, port: number, records: ReadonlyMap<string, string>): Promise<PlaygroundDns> {
  const { Packet } = dns2;
  const server = dns2.createServer({
    udp: true,
    tcp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      const name = question?.name.toLowerCase().replace(/\.$/, "") ?? "";
      const address = records.get(name);
      if (address === undefined) response.header.rcode = NXDOMAIN;
      else if (question!.type === Packet.TYPE.A) response.answers.push(Packet.createResourceFromQuestion(question!, { ttl: 60, address }));
      void send(response);
    },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: Error) => reject(e));
      server.listen({ udp: { port, address: host }, tcp: { port, address: host } }).then(() => resolve(), reject);
    });
  } catch (e) {
    server.close().catch(() => {});
    throw e;
  }
  return { server: `${host}:${port}`, close: () => server.close() };
}
