/**
 * Client-API calls for endpoint tests: `call` (http-get.ts's `clientCaller`) sends a body (JSON-encoded unless a
 * string) with an optional access token, `ok` expects 200 and returns the body, `expectError` expects a status, an
 * errcode and (optionally) a message naming the field.
 */
import assert from "node:assert/strict";
import { clientCaller, type Reply } from "./http-get.js";

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are read field by field

export function clientCalls(baseUrl: () => string) {
  const call = clientCaller(baseUrl);
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
