/**
 * The clients of bench/sync.bench.ts, in a process of their own (forked), so that receiving and parsing 200
 * answers does not share the server's event loop and each answer is timed when it really arrives. Driven over
 * IPC by the benchmark: `start` (the clients' tokens), then per round `poll` (start the long polls; answered with
 * `polling`) and `send` (send the message, await every answer; answered with the round's samples), then `quiet`
 * (incremental syncs with nothing new; answered with their round trips).
 */
import { call, ms } from "./client.js";

interface Start {
  readonly kind: "start";
  readonly base: string;
  readonly roomId: string;
  readonly tokens: readonly string[];
}
type Message = Start | { readonly kind: "poll"; readonly round: number } | { readonly kind: "send"; readonly round: number } | { readonly kind: "quiet"; readonly n: number };

let setup: Start | undefined;
let since: string[] = [];
let waits: Promise<{ body: string; at: bigint }>[] = [];

const reply = (m: unknown) => process.send!(m);

process.on("message", (m: Message) => {
  void (async () => {
    if (m.kind === "start") {
      setup = m;
      // Each client's first sync marks its user online (no set_presence: the spec's default), which the others
      // are told of; a second sync from there takes everyone's in, and repeat syncs tell no one, so the long polls
      // below wake for the message only.
      const first = await Promise.all(m.tokens.map(async (t) => String(JSON.parse((await call(m.base, "/_matrix/client/v3/sync", t)).body)["next_batch"])));
      since = await Promise.all(m.tokens.map(async (t, i) => String(JSON.parse((await call(m.base, `/_matrix/client/v3/sync?since=${first[i]}`, t)).body)["next_batch"])));
      reply({ kind: "started" });
    } else if (m.kind === "poll") {
      const s = setup!;
      waits = s.tokens.map((t, i) => call(s.base, `/_matrix/client/v3/sync?timeout=30000&since=${since[i]}`, t));
      reply({ kind: "polling" });
    } else if (m.kind === "send") {
      const s = setup!;
      const t0 = process.hrtime.bigint();
      await call(s.base, `/_matrix/client/v3/rooms/${encodeURIComponent(s.roomId)}/send/m.room.message/r${m.round}`, s.tokens[0]!, "PUT", JSON.stringify({ msgtype: "m.text", body: `round ${m.round}` }));
      const answers = await Promise.all(waits);
      const samples = answers.map((a, i) => {
        const j = JSON.parse(a.body) as { next_batch: string; rooms: { join: Record<string, { timeline: { events: { content: { body?: string } }[] } }> } };
        if (!j.rooms.join[s.roomId]?.timeline.events.some((e) => e.content.body === `round ${m.round}`)) throw new Error(`client ${i} woke without the event`);
        since[i] = j.next_batch;
        return ms(t0, a.at);
      });
      reply({ kind: "sent", samples });
    } else {
      const s = setup!;
      const quiet: number[] = [];
      for (let i = 0; i < m.n; i++) {
        const t0 = process.hrtime.bigint();
        const r = await call(s.base, `/_matrix/client/v3/sync?timeout=0&since=${since[1]}`, s.tokens[1]!);
        quiet.push(ms(t0, r.at));
      }
      reply({ kind: "quiet", quiet });
      process.disconnect();
    }
  })().catch((e: unknown) => {
    reply({ kind: "error", error: String((e as Error).stack ?? e) });
    process.exit(1);
  });
});
