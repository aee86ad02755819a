import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ServerName } from "../core/ids/index.js";
import { openSqliteStorage } from "../storage/sqlite/index.js";
import { EduRegistry, TransactionGate } from "./transaction-gate.js";

const A = "a.test" as ServerName;

describe("TransactionGate", () => {
  it("runs the work once for concurrent repeats of (origin, txn id), and every caller gets the same answer", async () => {
    const storage = await openSqliteStorage({ path: ":memory:" });
    const gate = new TransactionGate(storage.transactions, () => 1);
    let runs = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const work = async () => { runs++; await held; return { pdus: { [`$${runs}`]: {} } }; };
    const both = Promise.all([gate.once(A, "t1", work), gate.once(A, "t1", work)]);
    release();
    const [x, y] = await both;
    assert.equal(runs, 1);
    assert.deepEqual(x, y);
    assert.deepEqual(await gate.once(A, "t1", work), x, "a later repeat gets the stored answer");
    assert.equal(runs, 1);
    await gate.once("b.test" as ServerName, "t1", work);
    assert.equal(runs, 2, "the same txn id from another origin is another transaction");
    await storage.close();
  });
});

describe("EduRegistry", () => {
  it("hands each EDU to its type's handler, reports unknown types, and a failing handler fails nothing else", async () => {
    const unknown: string[] = [];
    const seen: unknown[] = [];
    const reg = new EduRegistry((_o, t) => unknown.push(t))
      .register({ type: "m.typing", handle: async (_o, c) => { seen.push(c); } })
      .register({ type: "m.receipt", handle: async () => { throw new Error("boom"); } });
    const n = await reg.dispatch(A, [{ edu_type: "m.typing", content: { room_id: "!r" } }, { edu_type: "m.receipt", content: {} }, { edu_type: "m.presence", content: {} }, "junk"]);
    assert.equal(n, 1);
    assert.deepEqual(seen, [{ room_id: "!r" }]);
    assert.deepEqual(unknown, ["m.presence"]);
  });
});
