/**
 * A small self-contained HTML page (no external scripts, styles or fonts) that
 * renders a federation report: the verdict, the checks grouped (DNS and
 * delegation, TLS per address with the certificates served, keys with the
 * keys served, requests) with failures first, the fix for each warning and
 * failure, when the test ran and a link to the raw JSON. It either shows a
 * report embedded at render time, or asks `api/report?server_name=` for one
 * (relative to the page, so a proxy prefix works, with or without a trailing
 * slash) and keeps the server name in the address bar so the URL can be
 * shared. The script builds the DOM with textContent only, so nothing in a
 * report can inject markup.
 */
import type { JsonReport } from "./render-json.js";

export interface PageOptions {
  /** A report to show at once (the CLI's --html, tests); otherwise the page fetches one. */
  readonly report?: JsonReport;
  /** Where to fetch reports from, relative to the page (default "api/report"). */
  readonly apiPath?: string;
  /** Pre-filled server name. */
  readonly serverName?: string;
}

/** JSON that is safe inside <script>: no "</script>", no "<!--", no U+2028/2029 surprises. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v ?? null)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function attr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:62rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}h2{font-size:1.05rem;margin:1.2rem 0 .3rem}form{display:flex;gap:.5rem;margin-bottom:.5rem}
input{flex:1;padding:.4rem;font:inherit}button{padding:.4rem 1rem;font:inherit}button:disabled{opacity:.6}
#note{color:#555;font-size:.9rem;margin:0 0 1rem}#verdict{font-weight:bold;font-size:1.2rem;margin:1rem 0 .2rem}
#meta{color:#555;font-size:.9rem}.good{color:#17702a}.bad{color:#b01b1b}.error{color:#b01b1b;font-weight:600}
ul{list-style:none;padding:0;margin:0}li{padding:.35rem 0;border-bottom:1px solid #eee}
.sym{display:inline-block;width:1.4rem;font-weight:bold}.ok .sym{color:#17702a}.warn .sym{color:#a36200}
.fail .sym{color:#b01b1b}.skip{color:#666}.title{font-weight:600}.fix{margin:.2rem 0 0 1.4rem;color:#444}
.fix::before{content:"Fix: ";font-weight:600}section.group h2.fail{color:#b01b1b}section.group h2.warn{color:#a36200}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.4rem 0 .6rem 1.4rem;font-size:.9rem}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}.mono{font-family:ui-monospace,monospace;font-size:.85rem}
.cert h3,.keys h3{font-size:.95rem;margin:.5rem 0 0 1.4rem}
`;

const SCRIPT = `
(function () {
  var SYM = { ok: "\\u2713", warn: "\\u26a0", fail: "\\u2717", skip: "\\u2013" };
  var RANK = { fail: 0, warn: 1, skip: 2, ok: 3 };
  var GROUPS = { dns: "DNS and delegation", tls: "TLS", keys: "Server keys", requests: "Requests", local: "Local setup", other: "Other checks" };
  var ORDER = ["local", "dns", "tls", "keys", "requests", "other"];
  var body = document.body;
  // The API is relative to the page without its trailing slash: /federation-tester and /federation-tester/ both ask
  // /api/report, and a proxy prefix (/x/federation-tester) asks /x/api/report.
  function apiUrl() { return new URL(body.getAttribute("data-api"), location.origin + (location.pathname.replace(/\\/+$/, "") || "/")).href; }
  var button = document.querySelector("#form button");
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function plural(n, one, many) { return n + " " + (n === 1 ? one : (many || one + "s")); }
  function groupOf(c) {
    var id = c.id || "";
    if (id.indexOf("local.") === 0) return "local";
    if (/^(name|well-known|srv|resolution|dns)(\\.|$)/.test(id)) return "dns";
    if (/^(conn|tls)\\./.test(id)) return "tls";
    if (id.indexOf("keys.") === 0) return "keys";
    if (/^(version|client\\.|reach-back|policy\\.)/.test(id)) return "requests";
    return "other";
  }
  function dl(pairs) {
    var d = el("dl");
    pairs.forEach(function (p) { d.appendChild(el("dt", null, p[0])); var dd = el("dd", p[2] || null, p[1]); dd.setAttribute("data-field", p[3] || p[0].toLowerCase()); d.appendChild(dd); });
    return d;
  }
  function certBlock(address, certs) {
    var box = el("div", "cert");
    box.setAttribute("data-address", address);
    certs.forEach(function (c, i) {
      box.appendChild(el("h3", null, i === 0 ? "Certificate served by " + address : "Chain certificate " + i));
      box.appendChild(dl([
        ["Subject", c.Subject], ["Issuer", c.Issuer], ["SANs", (c.SubjectAltNames || []).join(", ") || "(none)", null, "sans"],
        ["SHA-256", c.SHA256, "mono", "sha256"], ["Valid from", c.NotBefore, null, "not-before"], ["Expires", c.NotAfter, null, "expiry"],
      ]));
    });
    return box;
  }
  function keysBlock(address, keys) {
    var box = el("div", "keys");
    box.setAttribute("data-address", address);
    box.appendChild(el("h3", null, "Keys served by " + address));
    var vk = keys && typeof keys.verify_keys === "object" && keys.verify_keys ? keys.verify_keys : {};
    var pairs = [["Server name", String(keys && keys.server_name), null, "server-name"],
      ["Valid until", keys && typeof keys.valid_until_ts === "number" ? new Date(keys.valid_until_ts).toISOString() : "(missing)", null, "valid-until"]];
    Object.keys(vk).forEach(function (id) { pairs.push([id, String(vk[id] && vk[id].key), "mono key", "key"]); });
    box.appendChild(dl(pairs));
    return box;
  }
  function render(r, rawHref) {
    var zion = r.Zion || {};
    var checks = zion.Checks || [];
    var verdict = $("verdict");
    verdict.textContent = (r.FederationOK ? "Federation OK" : "Federation NOT OK") + (zion.ServerName ? " for " + zion.ServerName : "");
    verdict.className = r.FederationOK ? "good" : "bad";
    verdict.setAttribute("data-ok", r.FederationOK ? "true" : "false");
    var list = $("checks");
    list.textContent = "";
    if (r.Error) list.appendChild(el("p", "error", r.Error));
    // Groups: one per kind, TLS one per address; the group with the worst check first, failures first inside.
    var groups = {};
    checks.forEach(function (c, i) {
      var g = groupOf(c);
      var key = g === "tls" ? "tls " + (c.address || "") : g;
      if (!groups[key]) groups[key] = { kind: g, address: g === "tls" ? c.address || "" : "", checks: [], first: i };
      groups[key].checks.push({ c: c, i: i });
    });
    var certs = zion.Certificates || {};
    Object.keys(certs).forEach(function (a) { var key = "tls " + a; if (!groups[key]) groups[key] = { kind: "tls", address: a, checks: [], first: 1e9 }; });
    var list2 = Object.keys(groups).map(function (k) { var g = groups[k]; g.worst = g.checks.reduce(function (w, x) { return Math.min(w, RANK[x.c.status]); }, 3); return g; });
    list2.sort(function (a, b) { return a.worst - b.worst || ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) || a.first - b.first; });
    list2.forEach(function (g) {
      var sec = el("section", "group");
      sec.setAttribute("data-group", g.kind);
      if (g.address) sec.setAttribute("data-address", g.address);
      var worst = ["fail", "warn", "skip", "ok"][g.worst];
      sec.setAttribute("data-worst", worst);
      sec.appendChild(el("h2", worst, GROUPS[g.kind] + (g.address ? " " + g.address : "")));
      var ul = el("ul");
      g.checks.sort(function (a, b) { return RANK[a.c.status] - RANK[b.c.status] || a.i - b.i; });
      g.checks.forEach(function (x) {
        var c = x.c;
        var li = el("li", "check " + c.status);
        li.setAttribute("data-id", c.id);
        li.setAttribute("data-status", c.status);
        li.appendChild(el("span", "sym", SYM[c.status] || "?"));
        li.appendChild(el("span", "title", c.title));
        li.appendChild(document.createTextNode(": "));
        li.appendChild(el("span", "detail", c.detail));
        if (c.fix && (c.status === "warn" || c.status === "fail")) li.appendChild(el("div", "fix", c.fix));
        ul.appendChild(li);
      });
      sec.appendChild(ul);
      if (g.kind === "tls" && certs[g.address] && certs[g.address].length) sec.appendChild(certBlock(g.address, certs[g.address]));
      if (g.kind === "keys") {
        var reports = r.ConnectionReports || {};
        Object.keys(reports).forEach(function (a) { if (reports[a] && reports[a].Keys) sec.appendChild(keysBlock(a, reports[a].Keys)); });
      }
      list.appendChild(sec);
    });
    var s = zion.Summary;
    $("status").className = "";
    $("status").textContent = s ? [plural(s.ok, "ok", "ok"), plural(s.warn, "warning"), plural(s.fail, "failure")].concat(s.skip ? [plural(s.skip, "check") + " not run"] : []).join(", ") : "";
    var meta = $("meta");
    meta.textContent = "";
    if (typeof zion.FinishedAt === "number") {
      var t = el("time", null, new Date(zion.FinishedAt).toISOString());
      t.setAttribute("datetime", new Date(zion.FinishedAt).toISOString());
      meta.appendChild(document.createTextNode("Tested at "));
      meta.appendChild(t);
      if (typeof zion.StartedAt === "number") meta.appendChild(document.createTextNode(" (took " + ((zion.FinishedAt - zion.StartedAt) / 1000).toFixed(1) + " s)"));
      meta.appendChild(document.createTextNode(" \\u00b7 "));
    }
    var raw = el("a", null, "raw JSON");
    raw.id = "raw";
    raw.href = rawHref || URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: "application/json" }));
    meta.appendChild(raw);
  }
  function failed(text) {
    $("status").className = "error";
    $("status").textContent = "The test could not run: " + text;
  }
  function load(name) {
    $("status").className = "";
    $("status").textContent = "Testing " + name + "\\u2026";
    $("verdict").textContent = "";
    $("verdict").removeAttribute("data-ok");
    $("checks").textContent = "";
    $("meta").textContent = "";
    button.disabled = true;
    var url;
    try { url = apiUrl() + "?server_name=" + encodeURIComponent(name); } catch (e) { failed("this page has no tester API behind it (" + e.message + ")"); button.disabled = false; return; }
    fetch(url)
      .then(function (res) {
        return res.text().then(function (text) {
          var body = null;
          try { body = JSON.parse(text); } catch (e) { body = null; }
          if (res.ok && body) return render(body, url);
          // The server's own words (its "error" field), and when to try again.
          var msg = body && typeof body.error === "string" ? body.error : (text.trim().slice(0, 300) || "no details");
          var retry = res.headers.get("retry-after");
          failed(msg + " (HTTP " + res.status + (body && body.errcode ? " " + body.errcode : "") + ")" + (retry ? "; try again in " + plural(Number(retry), "second") : ""));
        });
      })
      .catch(function (e) { failed(e.message); })
      .then(function () { button.disabled = false; });
  }
  $("form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = $("server_name").value.trim();
    if (!name || button.disabled) return;
    // The address bar names the server tested, so the URL can be shared.
    var here = new URL(location.href);
    here.searchParams.set("server_name", name);
    history.pushState(null, "", here.href);
    load(name);
  });
  var embedded = JSON.parse($("report").textContent);
  if (embedded) {
    $("note").textContent = "This report was made on the machine that ran zion federation-test, with its DNS and its view of the network.";
    render(embedded, null);
  } else {
    $("note").textContent = "The test runs from this server (" + location.host + "), with its DNS servers, its certificate authorities and its view of the network: a server reachable from here may still be unreachable from the internet, and the other way round.";
    var q = new URLSearchParams(location.search).get("server_name");
    if (q) { $("server_name").value = q; load(q); }
  }
})();
`;

export function renderReportPage(opts: PageOptions = {}): string {
  const api = opts.apiPath ?? "api/report";
  const name = opts.serverName ?? opts.report?.Zion.ServerName ?? "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Zion federation tester</title><style>${STYLE}</style></head>
<body data-api="${attr(api)}">
<h1>Zion federation tester</h1>
<form id="form"><input id="server_name" name="server_name" placeholder="example.org" value="${attr(name)}" aria-label="Server name"><button type="submit">Test</button></form>
<p id="note"></p>
<div id="verdict"></div><div id="status"></div><div id="meta"></div><div id="checks"></div>
<script type="application/json" id="report">${scriptJson(opts.report ?? null)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
