/**
 * Issue 13, item 8, on Zion alone: a real `zion start -c homeserver.yaml` (child process) with web_client.enabled
 * and open registration; the scenario of test/harness/hydrogen-chat.ts (Hydrogen in Chromium logs in, opens the
 * room, sends; a matrix-js-sdk user receives it and answers). The same scenario already runs against Synapse
 * with Zion serving the client (test/interop/web-client-synapse.test.ts), so a failure here is Zion's API.
 * Screenshots: test-artifacts/web-client/zion-{session,room}.png. It needs /register (m.login.dummy), /login
 * (m.login.password), /createRoom, /join, /sync and /rooms/{id}/send (Hydrogen calls both the r0 and the v3 forms)
 * and a version in /_matrix/client/versions (Hydrogen and matrix-js-sdk refuse a server that lists none).
 */
import { after, before, describe, it } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { HydrogenChat } from "../harness/hydrogen-chat.js";
import { freePort } from "../harness/ports.js";
import { startTestServer, type TestServer } from "../harness/server.js";

const HOST = "127.0.0.1";

describe("Hydrogen on Zion in Chromium, chatting with a matrix-js-sdk user", { timeout: 180_000 }, () => {
  let dir: string;
  let zion: TestServer;
  let chat: HydrogenChat;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-hydrogen-chat-"));
    const port = await freePort(HOST);
    const base = `http://${HOST}:${port}`;
    zion = await startTestServer({
      mode: "child",
      config: {
        public_baseurl: `${base}/`,
        web_client: { enabled: true },
        enable_registration: true,
        enable_registration_without_verification: true,
        listeners: [{ port, bind_addresses: [HOST], type: "http", tls: false, resources: [{ names: ["client"] }] }],
      },
    });
    chat = await HydrogenChat.prepare({
      apiBase: base,
      clientPage: `${base}/_zion/client/`,
      profileDir: join(dir, "chromium-profile"),
      artifacts: resolve("test-artifacts", "web-client", "zion"),
    });
  });
  after(async () => {
    await chat?.close();
    await zion?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("logs Alice in with her password from Hydrogen's login form, pre-filled with this server", () => chat.logIn());
  it("opens the room by its name and sends a message that Bob's client receives through its sync", () => chat.sendFromHydrogen("Hello from Hydrogen on Zion"));
  it("shows Bob's answer, sent with matrix-js-sdk, in Hydrogen's timeline", () => chat.receiveInHydrogen("Hello Alice, this is matrix-js-sdk"));
});
