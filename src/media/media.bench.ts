/**
 * Media throughput on a real `zion start` process (SQLite, loopback): upload and download of a 50 MB file, both
 * streamed, with the server's RSS sampled every 10 ms from /proc/<pid>/status (peak growth over the idle RSS must
 * stay well under the file's size), and thumbnails per second of a 4,000 x 3,000 JPEG (dynamic_thumbnails on and a
 * new size each time, so every request decodes and resizes). Printed with the load average, never asserted.
 *
 *   npm run bench -- media
 */
import { readFileSync } from "node:fs";
import sharp from "sharp";
import { startTestServer } from "../../test/harness/server.js";

const MB = 1024 * 1024;
const SIZE = Number(process.env["MEDIA_BENCH_MB"] ?? 50) * MB;
const THUMBS = 12;

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
const loadavg = (): string => readFileSync("/proc/loadavg", "utf8").trim();

/** Runs `fn` while sampling the process's RSS; returns its result, the time taken and the peak RSS seen. */
async function sampled<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; ms: number; peak: number }> {
  let peak = rssOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 10);
  const t0 = performance.now();
  try {
    const value = await fn();
    return { value, ms: performance.now() - t0, peak: Math.max(peak, rssOf(pid)) };
  } finally {
    clearInterval(timer);
  }
}

/** 50 MB as 1 MB chunks made on the fly, so the benchmark itself holds one chunk at a time. */
function body(): ReadableStream<Uint8Array> {
  let sent = 0;
  const chunk = new Uint8Array(MB).map((_, i) => (i * 31) & 0xff);
  return new ReadableStream({
    pull(c) {
      if (sent >= SIZE) return c.close();
      chunk[0] = sent / MB; // every chunk differs a little
      c.enqueue(chunk.slice());
      sent += MB;
    },
  });
}

const zion = await startTestServer({
  mode: "child",
  config: { enable_registration: true, enable_registration_without_verification: true, max_upload_size: "300M", dynamic_thumbnails: true },
});
try {
  const pid = zion.child!.pid!;
  const reg = await fetch(`${zion.clientUrl}/_matrix/client/v3/register`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "bench", password: "a password 1", auth: { type: "m.login.dummy" } }),
  });
  const token = ((await reg.json()) as { access_token: string }).access_token;
  const auth = { authorization: `Bearer ${token}` };
  // Warm up the routes (and sharp) once, then take the idle RSS.
  await fetch(`${zion.clientUrl}/_matrix/media/v3/upload`, { method: "POST", headers: { ...auth, "content-type": "application/octet-stream" }, body: new Uint8Array(MB) });
  await new Promise((r) => setTimeout(r, 500));
  const idle = rssOf(pid);

  const up = await sampled(pid, async () => {
    const r = await fetch(`${zion.clientUrl}/_matrix/media/v3/upload`, {
      method: "POST", headers: { ...auth, "content-type": "application/octet-stream" }, body: body(), duplex: "half",
    } as RequestInit);
    return ((await r.json()) as { content_uri: string }).content_uri;
  });
  const [, server, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(up.value)!;
  const down = await sampled(pid, async () => {
    const r = await fetch(`${zion.clientUrl}/_matrix/client/v1/media/download/${server}/${id}`, { headers: auth });
    let n = 0;
    for await (const c of r.body!) n += c.length;
    return n;
  });
  if (down.value !== SIZE) throw new Error(`downloaded ${down.value} bytes, expected ${SIZE}`);

  const jpeg = await sharp({ create: { width: 4000, height: 3000, channels: 3, noise: { type: "gaussian", mean: 128, sigma: 40 }, background: { r: 0, g: 0, b: 0 } } }).jpeg({ quality: 85 }).toBuffer();
  const j = await fetch(`${zion.clientUrl}/_matrix/media/v3/upload`, { method: "POST", headers: { ...auth, "content-type": "image/jpeg" }, body: jpeg });
  const [, js, jid] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(((await j.json()) as { content_uri: string }).content_uri)!;
  const thumbs = await sampled(pid, async () => {
    for (let i = 0; i < THUMBS; i++) {
      const w = 300 + i; // a new size each time: generated, not cached
      const r = await fetch(`${zion.clientUrl}/_matrix/client/v1/media/thumbnail/${js}/${jid}?width=${w}&height=${w}&method=${i % 2 ? "crop" : "scale"}`, { headers: auth });
      if (r.status !== 200) throw new Error(`thumbnail answered ${r.status}: ${await r.text()}`);
      await r.arrayBuffer();
    }
  });

  const mbps = (ms: number) => (SIZE / MB / (ms / 1000)).toFixed(0);
  const mib = (b: number) => (b / MB).toFixed(0);
  console.log(`load average before: ${loadavg()}`);
  console.log(`upload   ${SIZE / MB} MB: ${up.ms.toFixed(0)} ms, ${mbps(up.ms)} MB/s; server RSS idle ${mib(idle)} MiB, peak ${mib(up.peak)} MiB (+${mib(up.peak - idle)} MiB)`);
  console.log(`download ${SIZE / MB} MB: ${down.ms.toFixed(0)} ms, ${mbps(down.ms)} MB/s; server RSS peak ${mib(down.peak)} MiB (+${mib(down.peak - idle)} MiB)`);
  console.log(`thumbnails of a 4000x3000 JPEG (${mib(jpeg.length)} MiB): ${THUMBS} in ${thumbs.ms.toFixed(0)} ms, ${(THUMBS / (thumbs.ms / 1000)).toFixed(1)}/s sequential; RSS peak ${mib(thumbs.peak)} MiB`);
  console.log(`load average after: ${loadavg()}`);
} finally {
  await zion.stop();
}
