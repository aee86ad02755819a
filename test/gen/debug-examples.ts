/**
 * The ready inputs of docs/debug-tools.md, in docs/examples/: generated, never edited by hand.
 * `node dist/test/gen/debug-examples.js` rewrites them; test/docs-debug-examples.test.ts checks the committed files
 * equal this output and runs every documented command on them.
 *
 * The signing key is an example key made from a fixed seed, for these files only.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hashAndSignEvent } from "../../src/core/events/build.js";
import { formatSigningKeyFile, publicKeyBase64, signingKeyFromSeed } from "../../src/core/crypto/index.js";
import type { JsonObject } from "../../src/core/json/types.js";
import { roomVersion } from "../../src/core/room-versions/rules.js";
import { buildDag, type StoryEvent } from "./dag.js";

const seed = new Uint8Array(32).map((_, i) => i + 1);
export const EXAMPLE_KEY = signingKeyFromSeed("ex", seed);

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

function storyRoom(): StoryEvent[] {
  return [
    { id: "create", type: "m.room.create", sender: "@ana:example.org", state_key: "", content: { creator: "@ana:example.org" }, prev: [] },
    { id: "ana-joins", type: "m.room.member", sender: "@ana:example.org", state_key: "@ana:example.org", content: { membership: "join" }, prev: ["create"] },
    { id: "power", type: "m.room.power_levels", sender: "@ana:example.org", state_key: "", content: { users: { "@ana:example.org": 100, "@dee:example.org": 50 }, ban: 50 }, prev: ["ana-joins"] },
    { id: "public", type: "m.room.join_rules", sender: "@ana:example.org", state_key: "", content: { join_rule: "public" }, prev: ["power"] },
    { id: "ben-joins", type: "m.room.member", sender: "@ben:other.example", state_key: "@ben:other.example", content: { membership: "join" }, prev: ["public"] },
    { id: "dee-joins", type: "m.room.member", sender: "@dee:example.org", state_key: "@dee:example.org", content: { membership: "join" }, prev: ["ben-joins"] },
    // Two forks: dee bans ben, while ben (concurrently) sets the topic.
    { id: "dee-bans-ben", type: "m.room.member", sender: "@dee:example.org", state_key: "@ben:other.example", content: { membership: "ban" }, prev: ["dee-joins"] },
    { id: "ben-topic", type: "m.room.topic", sender: "@ben:other.example", state_key: "", content: { topic: "ben was here" }, prev: ["dee-joins"] },
  ];
}

/** File name (under docs/examples/) -> contents. */
export function debugExamples(): Record<string, string> {
  const v11 = roomVersion("11");
  const message: JsonObject = {
    auth_events: ["$Pdx4Ryi2yTNXn0Xyb6XrFf-p0hLFWGOi1oQ7QTlBDCo", "$dfL1IjBb7xPBBXpw1fGiGLngwuQDa8CJbd6tAUw4Uok", "$8yHNN66WR7CE8gjgmB_RV61Hy6ZaD3aR-FiFr0EAGLk"],
    content: { body: "hello from the examples", msgtype: "m.text" },
    depth: 12,
    origin_server_ts: 1700000000000,
    prev_events: ["$U8QOJBFizRUnlBRF5YVcFdcuWxp-0ygYuGiV7IALXKA"],
    room_id: "!examples:example.org",
    sender: "@ana:example.org",
    type: "m.room.message",
  };
  const pdu = hashAndSignEvent(message, v11, { serverName: "example.org", key: EXAMPLE_KEY });
  const tampered = { ...pdu, content: { body: "changed after signing", msgtype: "m.text" } };

  const v2 = roomVersion("2");
  const dag = buildDag(v2, storyRoom());
  const raw = (story: string): JsonObject => dag.events.get(dag.idOf(story))!.raw as JsonObject;
  const authOf = (story: string): JsonObject[] => ((raw(story)["auth_events"] as [string, unknown][]).map(([id]) => dag.events.get(id as never)!.raw as JsonObject));
  const forks = ["dee-bans-ben", "ben-topic"].map((id) => [...dag.stateAfter.get(id)!.values()]);

  return {
    "unsorted.json": json({ b: 2, a: { d: [1, "é"], c: null }, "日": 1, "\u{1F600}": "astral keys sort by code point" }),
    "example.org.signing.key": formatSigningKeyFile([EXAMPLE_KEY]),
    "key-response.json": json({ server_name: "example.org", valid_until_ts: 1700000000000, verify_keys: { [EXAMPLE_KEY.keyId]: { key: publicKeyBase64(EXAMPLE_KEY) } }, old_verify_keys: {} }),
    "pdu-v11.json": json(pdu),
    "pdu-v11-tampered.json": json(tampered),
    "auth-check-allowed.json": json({ event: raw("dee-bans-ben"), auth_events: authOf("dee-bans-ben") }),
    "auth-check-refused.json": json({ event: { ...raw("dee-bans-ben"), sender: "@ben:other.example", state_key: "@dee:example.org" }, auth_events: authOf("dee-bans-ben") }),
    "resolve-state.json": json({ state_sets: forks, events: [...dag.events.values()].map((e) => e.raw) }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = fileURLToPath(new URL("../../../docs/examples/", import.meta.url));
  for (const [name, text] of Object.entries(debugExamples())) writeFileSync(`${dir}${name}`, text);
  process.stdout.write(`wrote ${Object.keys(debugExamples()).length} files to ${dir}\n`);
}
