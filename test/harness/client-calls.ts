/**
 * Client-API calls for endpoint tests: `call` sends a JSON body with an optional access token, `ok` expects 200 and
 * returns the body, `expectError` expects a status, an errcode and (optionally) a message naming the field.
 */
import assert from "node:assert/strict";
import { httpCall, type Reply } from "./http-get.js";

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are read field by field

export function clientCalls(baseUrl: () => string) {
  const call = (method: string, path: string, body?: unknown, token?: string, timeoutMs?: number): Promise<Reply> => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const framing = text === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) };
    return httpCall(`${baseUrl()}${path}`, { method, headers: { ...framing, ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(text !== undefined ? { body: text } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  };
  const ok = async (p: Promise<Reply>): Promise<J> => {
    const r = await p;
    assert.equal(r.status, 200, r.body);
    return r.json() as J;
  };
  const expectError = async (p: Promise<Reply>, status: number, errcode: string, mentions?: RegExp): Promise<void> => {
    const r = await p;
    assert.equal(r.status, status, r.body);
    const j = r.json() as J;
    assert.equal(j["errcode"], errcode, r.body);
    if (mentions) assert.match(String(j["error"]), mentions);
  };
  return { call, ok, expectError };
}
