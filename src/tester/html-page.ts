/**
 * A small self-contained HTML page (no external scripts, styles or fonts) that
 * renders a federation report: the verdict, every check with its status, and
 * the fix for each warning and failure. It either shows a report embedded at
 * render time, or asks `report?server_name=` (relative to the page) for one.
 * The script builds the DOM with textContent only, so nothing in a report can
 * inject markup.
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
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}form{display:flex;gap:.5rem;margin-bottom:1rem}input{flex:1;padding:.4rem;font:inherit}
button{padding:.4rem 1rem;font:inherit}#verdict{font-weight:bold;font-size:1.2rem;margin:1rem 0}
.good{color:#17702a}.bad{color:#b01b1b}ul{list-style:none;padding:0}li{padding:.35rem 0;border-bottom:1px solid #eee}
.sym{display:inline-block;width:1.4rem;font-weight:bold}.ok .sym{color:#17702a}.warn .sym{color:#a36200}.fail .sym{color:#b01b1b}
.title{font-weight:600}.fix{margin:.2rem 0 0 1.4rem;color:#444}.fix::before{content:"Fix: ";font-weight:600}
#status{color:#666}
`;

const SCRIPT = `
(function () {
  var SYM = { ok: "\\u2713", warn: "\\u26a0", fail: "\\u2717" };
  var api = document.body.getAttribute("data-api");
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function render(r) {
    var zion = r.Zion || {};
    var checks = zion.Checks || [];
    var verdict = document.getElementById("verdict");
    verdict.textContent = (r.FederationOK ? "Federation OK" : "Federation NOT OK") + (zion.ServerName ? " for " + zion.ServerName : "");
    verdict.className = r.FederationOK ? "good" : "bad";
    verdict.setAttribute("data-ok", r.FederationOK ? "true" : "false");
    var list = document.getElementById("checks");
    list.textContent = "";
    if (r.Error) list.appendChild(el("li", "fail", r.Error));
    checks.forEach(function (c) {
      var li = el("li", "check " + c.status);
      li.setAttribute("data-id", c.id);
      li.setAttribute("data-status", c.status);
      li.appendChild(el("span", "sym", SYM[c.status] || "?"));
      li.appendChild(el("span", "title", c.title));
      li.appendChild(document.createTextNode(": "));
      li.appendChild(el("span", "detail", c.detail));
      if (c.fix && c.status !== "ok") li.appendChild(el("div", "fix", c.fix));
      list.appendChild(li);
    });
    var s = zion.Summary;
    document.getElementById("status").textContent = s ? s.ok + " ok, " + s.warn + " warnings, " + s.fail + " failures" : "";
  }
  function load(name) {
    document.getElementById("status").textContent = "Testing " + name + "\\u2026";
    document.getElementById("verdict").textContent = "";
    document.getElementById("checks").textContent = "";
    fetch(api + "?server_name=" + encodeURIComponent(name))
      .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.json(); })
      .then(render)
      .catch(function (e) { document.getElementById("status").textContent = "The test could not run: " + e.message; });
  }
  document.getElementById("form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = document.getElementById("server_name").value.trim();
    if (name) load(name);
  });
  var embedded = JSON.parse(document.getElementById("report").textContent);
  if (embedded) render(embedded);
  else { var q = new URLSearchParams(location.search).get("server_name"); if (q) { document.getElementById("server_name").value = q; load(q); } }
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
<div id="verdict"></div><div id="status"></div><ul id="checks"></ul>
<script type="application/json" id="report">${scriptJson(opts.report ?? null)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
