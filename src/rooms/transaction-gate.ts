/**
 * Inbound transactions (PUT /_matrix/federation/v1/send/{txnId}): once per (origin, txn id), and the EDU registry.
 *
 * 1. A transaction answered before gets the stored answer (TransactionStore), whatever the body now says.
 * 2. A repeat that arrives while the first is still being processed waits for it and gets the same answer.
 * 3. Otherwise the work runs and its answer is stored; a concurrent duplicate that stored first wins. The work may
 *    store the answer itself, in the storage transaction of its last write (PersistBatch.inboundTxn), and says so
 *    in its TransactionAnswer: then the gate stores nothing more.
 */
import type { ServerName } from "../core/ids/index.js";
import type { JsonObject } from "../core/json/types.js";
import type { StoredTransactionResponse, TransactionStore } from "../storage/ports.js";

/** One transaction's answer slot: the work sets `stored` when it wrote the answer with its events. */
export interface TransactionAnswer {
  readonly origin: ServerName;
  readonly txnId: string;
  stored?: StoredTransactionResponse;
}

export class TransactionGate {
  private readonly inFlight = new Map<string, Promise<JsonObject>>();
  constructor(private readonly store: TransactionStore, private readonly now: () => number) {}

  once(origin: ServerName, txnId: string, work: (answer: TransactionAnswer) => Promise<JsonObject>): Promise<JsonObject> {
    const key = `${origin}\u0000${txnId}`;
    const running = this.inFlight.get(key); // step 2
    if (running) return running;
    const p = (async () => {
      const known = await this.store.getTransactionResponse(origin, txnId); // step 1
      if (known) return known.response;
      const answer: TransactionAnswer = { origin, txnId };
      const response = await work(answer); // step 3
      if (answer.stored) return answer.stored.response;
      return (await this.store.storeTransactionResponse(origin, txnId, response, this.now())).response;
    })().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }
}

/** A handler for one EDU type (m.typing, m.receipt, m.presence, m.device_list_update, m.direct_to_device ...). */
export interface EduHandler {
  readonly type: string;
  handle(origin: ServerName, content: JsonObject): Promise<void>;
}

/** EDU handlers by type. Unknown types are reported to `unknown` (the server logs them at debug) and dropped. */
export class EduRegistry {
  private readonly handlers = new Map<string, EduHandler>();
  constructor(private readonly unknown: (origin: ServerName, type: string) => void = () => {}) {}

  register(h: EduHandler): this {
    this.handlers.set(h.type, h);
    return this;
  }

  has(type: string): boolean {
    return this.handlers.has(type);
  }

  /** Each EDU to its handler; a failing handler never fails the transaction. Returns how many were handled. */
  async dispatch(origin: ServerName, edus: readonly unknown[]): Promise<number> {
    let n = 0;
    for (const e of edus) {
      if (typeof e !== "object" || e === null || Array.isArray(e)) continue;
      const o = e as JsonObject;
      const type = typeof o["edu_type"] === "string" ? o["edu_type"] : "";
      const content = typeof o["content"] === "object" && o["content"] !== null && !Array.isArray(o["content"]) ? (o["content"] as JsonObject) : {};
      const h = this.handlers.get(type);
      if (!h) {
        this.unknown(origin, type);
        continue;
      }
      try {
        await h.handle(origin, content);
        n++;
      } catch {
        // An EDU is best effort (spec: EDUs have no reply); the PDUs' answer stands.
      }
    }
    return n;
  }
}
