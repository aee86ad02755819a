/**
 * https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv1sendtxnid
 * 1. The body's `origin` must be the server that signed the request (403 M_FORBIDDEN).
 * 2. At most MAX_TXN_PDUS PDUs and MAX_TXN_EDUS EDUs (400 M_BAD_JSON naming the limit; Synapse answers a bare 400 {}).
 * 3. rc_federation per origin (429 M_LIMIT_EXCEEDED past reject_limit, delays past sleep_limit, `concurrent` at a
 *    time), then once per (origin, txn id): a repeat gets the first answer (TransactionGate). The route applies it
 *    itself, with a limiter of its own (`ownFederationRateLimit`): the one the HTTP layer puts around every other
 *    signed request does not count /send, as Synapse's FederationSendServlet is left out of its servlets' limiter.
 * 4. The PDUs go through the room pipeline (RoomService.ingestRemote): `pdus` maps each event id to {} or {error}.
 *    A transaction without EDUs whose PDUs are of one room has its answer written with them, in one commit.
 * 5. The EDUs go to their handlers (EduRegistry); they have no answer. (They come after the PDUs, whose events they
 *    may name, so a transaction with EDUs stores its answer after them, in a commit of its own.)
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import type { JsonObject } from "../../../core/json/types.js";
import type { Metrics } from "../../../core/metrics.js";
import type { EduRegistry, RoomService, TransactionGate } from "../../../rooms/index.js";
import { defineFederationRoute } from "../../http/index.js";
import type { FederationRateLimiter } from "../rate-limit.js";

export const MAX_TXN_PDUS = 50;
export const MAX_TXN_EDUS = 100;

export interface SendTransactionDeps {
  readonly rooms: Pick<RoomService, "ingestRemote">;
  readonly inboundTxns: TransactionGate;
  readonly edus: EduRegistry;
  /** rc_federation per origin (api/federation/rate-limit.ts). */
  readonly federationRateLimiter: FederationRateLimiter;
  readonly metrics: Metrics;
}

/** The inbound PDU counters (the composition root asks for them at start, so a scrape lists them before any /send). */
export function inboundPduMetrics(metrics: Metrics) {
  return {
    received: metrics.counter({ name: "synapse_federation_server_received_pdus", help: "PDUs received in /send transactions" }),
    verdicts: metrics.counter({ name: "zion_federation_server_pdu_verdicts", help: "PDUs received in /send transactions, by verdict", labels: ["verdict"] }),
  };
}

/** The /send answer: each PDU's event id to {} or {error}. */
function answerOf(results: Readonly<Awaited<ReturnType<RoomService["ingestRemote"]>>>): JsonObject {
  const pdus: Record<string, JsonObject> = {};
  for (const r of results) pdus[r.eventId] = r.outcome.ok ? {} : { error: r.outcome.error };
  return { pdus };
}

/** A PDU's verdict as the inbound counters name it (a fixed list). */
function verdictOf(o: Awaited<ReturnType<RoomService["ingestRemote"]>>[number]["outcome"]): string {
  if (!o.ok) return "stored" in o ? (o.stored === "rejected" ? "rejected" : "dropped") : "dropped";
  if (o.alreadyKnown) return "duplicate";
  if (o.softFailed) return "soft_failed";
  if (o.redacted) return "redacted";
  return "accepted";
}

export const sendTransaction = defineFederationRoute({
  method: "PUT",
  path: "/_matrix/federation/v1/send/:txnId",
  auth: "x-matrix",
  ownFederationRateLimit: true,
  params: z.object({ txnId: z.string() }),
  body: z.object({
    origin: z.string(),
    origin_server_ts: z.number(),
    pdus: z.array(z.unknown()),
    edus: z.array(z.unknown()).optional(),
  }).passthrough(),
  async handle({ origin, params, body }, { rooms, inboundTxns, edus, federationRateLimiter, metrics }: SendTransactionDeps) {
    // Step 1.
    if (body.origin !== origin) throw MatrixError.forbidden(`the body's origin ${body.origin} differs from the signing server ${origin}`);
    // Step 2.
    if (body.pdus.length > MAX_TXN_PDUS) throw new MatrixError("M_BAD_JSON", 400, `pdus: a transaction holds at most ${MAX_TXN_PDUS} PDUs, this one ${body.pdus.length}`);
    const eduList = body.edus ?? [];
    if (eduList.length > MAX_TXN_EDUS) throw new MatrixError("M_BAD_JSON", 400, `edus: a transaction holds at most ${MAX_TXN_EDUS} EDUs, this one ${eduList.length}`);
    // Step 3 (under rc_federation: a rejected request does no work).
    return federationRateLimiter.run(origin, () => inboundTxns.once(origin, params.txnId, async (answer) => {
      // Step 4.
      const results = await rooms.ingestRemote(origin, body.pdus, eduList.length === 0 ? { slot: answer, respond: answerOf } : undefined);
      const { received, verdicts } = inboundPduMetrics(metrics);
      for (const r of results) verdicts.inc({ verdict: verdictOf(r.outcome) });
      // A PDU without a room id (or, in an unknown room, without an event id) gets no answer: dropped.
      received.inc({}, body.pdus.length);
      if (body.pdus.length > results.length) verdicts.inc({ verdict: "dropped" }, body.pdus.length - results.length);
      // Step 5.
      await edus.dispatch(origin, eduList);
      return answerOf(results);
    }));
  },
});
