/**
 * Issue 13 item 8's chat, proven today against the real Synapse: Zion serves the bundled Hydrogen
 * (web_client.enabled) with its public_baseurl set to Synapse's client URL, so Hydrogen's login form is pre-filled
 * with Synapse and every API call goes there (cross-origin, under the page's Content-Security-Policy). In Chromium,
 * Alice logs in, opens the room by its name, sends a message that Bob's matrix-js-sdk client receives, and sees his
 * answer (test/harness/hydrogen-chat.ts). This shows the bundle, its assets, service worker and olm work as a whole
 * client; test/integration/hydrogen-chat.test.ts.pending runs the same scenario on Zion alone once Zion serves the
 * client-server API. Screenshots: test-artifacts/web-client/synapse/{session,room}.png.
 */
import { after, before, describe, it } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { HydrogenChat } from "../harness/hydrogen-chat.js";
import { freePort } from "../harness/ports.js";
import { startTestServer, type TestServer } from "../harness/server.js";
import { startSynapse, type SynapseHandle } from "../harness/synapse.js";
import { createTestCa } from "../harness/test-ca.js";

const SYNAPSE_HOST = "127.0.4.60";
const ZION_HOST = "127.0.4.61";

describe("Hydrogen served by Zion, on Synapse, chatting with a matrix-js-sdk user", { timeout: 300_000 }, () => {
  let dir: string;
  let synapse: SynapseHandle | undefined;
  let zion: TestServer | undefined;
  let chat: HydrogenChat | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "zion-web-client-synapse-"));
    const ca = await createTestCa(join(dir, "ca"));
    const leaf = await ca.issue({ ip: [SYNAPSE_HOST], name: "synapse" });
    synapse = await startSynapse({
      dir: join(dir, "synapse"),
      bindHost: SYNAPSE_HOST,
      caCertPath: ca.caCertPath,
      certPath: leaf.chainPath,
      keyPath: leaf.keyPath,
      extraConfig: { enable_registration: true, enable_registration_without_verification: true },
    });
    const port = await freePort(ZION_HOST);
    zion = await startTestServer({
      mode: "child",
      config: {
        public_baseurl: `${synapse.clientUrl}/`,
        web_client: { enabled: true },
        listeners: [{ port, bind_addresses: [ZION_HOST], type: "http", tls: false, resources: [{ names: ["client"] }] }],
      },
    });
    chat = await HydrogenChat.prepare({
      apiBase: synapse.clientUrl,
      clientPage: `http://${ZION_HOST}:${port}/_zion/client/`,
      profileDir: join(dir, "chromium-profile"),
      artifacts: resolve("test-artifacts", "web-client", "synapse"),
    });
  });
  after(async () => {
    await chat?.close();
    await zion?.stop();
    await synapse?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("logs Alice in from Hydrogen's login form, pre-filled with the homeserver of public_baseurl", () => chat!.logIn());
  it("opens the room by its name and sends a message that Bob's matrix-js-sdk client receives", () => chat!.sendFromHydrogen("Hello from Hydrogen served by Zion"));
  it("shows Bob's answer, sent with matrix-js-sdk, in Hydrogen's timeline", () => chat!.receiveInHydrogen("Hello Alice, this is matrix-js-sdk"));
});
