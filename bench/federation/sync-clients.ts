/**
 * The long-polling clients of the federation benchmark's client-load workload, in a process of their own (forked),
 * so that receiving 200 answers does not share the harness's event loop. Driven over IPC: `start` (base URL, room,
 * tokens: an initial /sync each), then per round `poll` (every client starts a long poll; answered `polling`) and
 * `send` (the first client sends one message; each client keeps long-polling until its answer holds that message;
 * answered with the milliseconds from just before the send until each client had it). A /sync answer without the
 * message (a target may wake a poll for something else) is followed by another poll, not counted as a failure.
 */
import { call, ms } from "../lib/client.js";

interface Start { readonly kind: "start"; readonly base: string; readonly roomId: string; readonly tokens: readonly string[] }
type Message = Start | { readonly kind: "poll"; readonly round: number } | { readonly kind: "send"; readonly round: number } | { readonly kind: "done" };

let setup: Start | undefined;
let since: string[] = [];
let polls: Promise<{ body: string; at: bigint }>[] = [];
const reply = (m: unknown) => process.send!(m);
const sync = (i: number, timeout: number) => call(setup!.base, `/_matrix/client/v3/sync?timeout=${timeout}&since=${encodeURIComponent(since[i]!)}`, setup!.tokens[i]!);

function has(body: string, roomId: string, marker: string): boolean {
  const j = JSON.parse(body) as { next_batch: string; rooms?: { join?: Record<string, { timeline?: { events?: { content?: { body?: string } }[] } }> } };
  return (j.rooms?.join?.[roomId]?.timeline?.events ?? []).some((e) => e.content?.body === marker);
}

process.on("message", (m: Message) => {
  void (async () => {
    if (m.kind === "start") {
      setup = m;
      since = [];
      for (const t of m.tokens) since.push(String(JSON.parse((await call(m.base, "/_matrix/client/v3/sync?timeout=0", t)).body)["next_batch"]));
      reply({ kind: "started" });
    } else if (m.kind === "poll") {
      polls = setup!.tokens.map((_, i) => sync(i, 60_000));
      reply({ kind: "polling" });
    } else if (m.kind === "send") {
      const s = setup!;
      const marker = `client load round ${m.round}`;
      const t0 = process.hrtime.bigint();
      const sent = await call(s.base, `/_matrix/client/v3/rooms/${encodeURIComponent(s.roomId)}/send/m.room.message/load${m.round}`, s.tokens[0]!, "PUT", JSON.stringify({ msgtype: "m.text", body: marker }));
      if (sent.status !== 200) throw new Error(`send: ${sent.status} ${sent.body}`);
      const samples = await Promise.all(polls.map(async (p, i) => {
        for (let a = await p; ; a = await sync(i, 60_000)) {
          if (a.body.startsWith("{")) since[i] = String((JSON.parse(a.body) as { next_batch: string }).next_batch);
          if (has(a.body, s.roomId, marker)) return ms(t0, a.at);
        }
      }));
      reply({ kind: "sent", samples });
    } else {
      process.disconnect();
    }
  })().catch((e: unknown) => {
    reply({ kind: "error", error: String((e as Error).stack ?? e) });
    process.exit(1);
  });
});
