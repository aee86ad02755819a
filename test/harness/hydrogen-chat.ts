/**
 * Issue 13 item 8's scenario, end to end, for any homeserver: Bob uses matrix-js-sdk (the real client, syncing);
 * Alice uses Hydrogen as Zion serves it at /_zion/client/, in Debian's Chromium (fresh profile). Bob registers,
 * creates a room named "Zion lobby" and invites Alice, who registers and joins; in the browser Alice logs in with
 * her password, opens the room by its name and sends a message that Bob's client receives through its own sync,
 * then sees Bob's answer arrive in Hydrogen's timeline. Screenshots of the session and the room view go to
 * `artifacts` (the paths are printed).
 *
 * Used against Synapse (test/interop/web-client-synapse.test.ts: Zion serves the client, Synapse the API) and
 * against Zion itself (test/integration/hydrogen-chat.test.ts.pending, until Zion serves the client API).
 *
 * Only specified endpoints (v1.16): POST /register through the m.login.dummy stage (a first POST answers 401 with
 * a session, the second completes it), POST /join/{roomIdOrAlias}; the rest is what the two clients call.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ClientEvent, createClient, Preset, RoomEvent, SyncState, type MatrixClient, type MatrixEvent } from "matrix-js-sdk";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./chromium.js";
import { quietLogger } from "./sdk-logger.js";
import "./sdk-quiet.js";

export const ROOM_NAME = "Zion lobby";

export interface ChatAccount {
  readonly userId: string;
  readonly accessToken: string;
  readonly deviceId: string;
  readonly password: string;
}

export interface HydrogenChatOptions {
  /** The homeserver's client API base URL (what Hydrogen's homeserver field must show), e.g. http://127.0.0.1:8008. */
  readonly apiBase: string;
  /** The page that serves Hydrogen, e.g. http://127.0.0.1:8008/_zion/client/. */
  readonly clientPage: string;
  /** A fresh folder for Chromium's profile. */
  readonly profileDir: string;
  /** Where screenshots go. */
  readonly artifacts: string;
}

async function call(base: string, method: string, path: string, body: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/_matrix/client/v3${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** https://spec.matrix.org/v1.16/client-server-api/#post_matrixclientv3register with the m.login.dummy stage. */
export async function registerWithDummyAuth(base: string, username: string): Promise<ChatAccount> {
  const password = `${username}-correct-horse-battery`;
  const first = await call(base, "POST", "/register", { username, password, initial_device_display_name: `${username}'s setup` });
  assert.equal(first.status, 401, `first /register for ${username}: ${JSON.stringify(first.json)}`);
  const session = first.json["session"];
  assert.equal(typeof session, "string", "the 401 carries a UIA session");
  const done = await call(base, "POST", "/register", { username, password, auth: { type: "m.login.dummy", session } });
  assert.equal(done.status, 200, `completing /register for ${username}: ${JSON.stringify(done.json)}`);
  return { userId: String(done.json["user_id"]), accessToken: String(done.json["access_token"]), deviceId: String(done.json["device_id"]), password };
}

function waitFor<T>(what: string, ms: number, start: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    start((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}


export class HydrogenChat {
  private constructor(
    private readonly options: HydrogenChatOptions,
    readonly bob: MatrixClient,
    readonly alice: ChatAccount,
    readonly roomId: string,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** Registers both users, starts Bob's client, creates the room with Alice in it, opens a browser tab. */
  static async prepare(options: HydrogenChatOptions): Promise<HydrogenChat> {
    await mkdir(options.artifacts, { recursive: true });
    const base = options.apiBase;
    const b = await registerWithDummyAuth(base, "bob");
    const alice = await registerWithDummyAuth(base, "alice");
    const bob = createClient({ baseUrl: base, userId: b.userId, accessToken: b.accessToken, deviceId: b.deviceId, logger: quietLogger });
    try {
      const prepared = waitFor<void>("Bob's first sync", 30_000, (done) => {
        bob.on(ClientEvent.Sync, (state: SyncState) => {
          if (state === SyncState.Prepared) done();
        });
      });
      await bob.startClient({ initialSyncLimit: 20 });
      await prepared;
      const roomId = (await bob.createRoom({ name: ROOM_NAME, preset: Preset.PrivateChat, invite: [alice.userId] })).room_id;
      const joined = await call(base, "POST", `/join/${encodeURIComponent(roomId)}`, {}, alice.accessToken);
      assert.equal(joined.status, 200, `Alice joins: ${JSON.stringify(joined.json)}`);
      const context = await launchChromium(options.profileDir);
      return new HydrogenChat(options, bob, alice, roomId, context, await context.newPage());
    } catch (e) {
      bob.stopClient();
      throw e;
    }
  }

  private async shot(name: string): Promise<void> {
    const path = join(this.options.artifacts, `${name}.png`);
    await this.page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  }

  /** Hydrogen's login form, pre-filled with the homeserver: Alice's password login reaches her session. */
  async logIn(): Promise<void> {
    const page = this.page;
    await page.goto(this.options.clientPage);
    const homeserver = page.locator("#homeserver");
    await homeserver.waitFor({ state: "visible", timeout: 30_000 });
    assert.equal(await homeserver.inputValue(), this.options.apiBase);
    await page.locator("#username").waitFor({ state: "visible", timeout: 30_000 }); // the password flow was found
    await page.locator("#username").fill("alice");
    await page.locator("#password").fill(this.alice.password);
    await page.getByRole("button", { name: "Log In" }).click();
    await page.locator(".SessionView").waitFor({ state: "visible", timeout: 60_000 });
    await page.getByText(ROOM_NAME).first().waitFor({ state: "visible", timeout: 30_000 });
    await this.shot("session");
  }

  /** Alice opens the room by its name and sends a message; Bob's client receives it through its sync. */
  async sendFromHydrogen(text: string): Promise<void> {
    const received = waitFor<MatrixEvent>("Alice's message at Bob's client", 30_000, (done) => {
      this.bob.on(RoomEvent.Timeline, (event: MatrixEvent) => {
        if (event.getRoomId() === this.roomId && event.getType() === "m.room.message" && event.getContent()["body"] === text) done(event);
      });
    });
    await this.page.getByText(ROOM_NAME).first().click();
    const composer = this.page.locator(".MessageComposer textarea");
    await composer.waitFor({ state: "visible", timeout: 30_000 });
    await composer.fill(text);
    await composer.press("Enter");
    const event = await received;
    assert.equal(event.getSender(), this.alice.userId);
    assert.equal(event.getContent()["msgtype"], "m.text");
    await this.page.locator(".Timeline_message", { hasText: text }).first().waitFor({ state: "visible", timeout: 30_000 });
  }

  /** Bob answers with matrix-js-sdk; the message appears in Hydrogen's timeline, under his name. */
  async receiveInHydrogen(text: string): Promise<void> {
    await this.bob.sendTextMessage(this.roomId, text);
    const tile = this.page.locator(".Timeline_message", { hasText: text }).first();
    await tile.waitFor({ state: "visible", timeout: 30_000 });
    assert.match((await tile.textContent()) ?? "", /bob/);
    await this.shot("room");
  }

  async close(): Promise<void> {
    this.bob.stopClient();
    await this.context.close();
  }
}
