/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4) for tests, and lookups by family and
 * labels. Written here because the npm parser tried (parse-prometheus-text-format 1.1.1) drops the labels and counts
 * of labelled histograms. Anything off-format throws with the line number: a name or label that breaks the
 * grammar, a bad value, a sample outside a declared family, a family declared twice, a histogram whose buckets
 * decrease or whose +Inf bucket differs from its count.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

export type FamilyType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  /** The sample's own name: the family's, or with _bucket / _sum / _count for a histogram. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: FamilyType;
  readonly help: string;
  readonly samples: readonly Sample[];
}

export interface Scrape {
  readonly families: readonly Family[];
  /** Sum of the samples of family `name` whose labels include `labels` (0 when none); for a histogram, of its _count samples. */
  value(name: string, labels?: Readonly<Record<string, string>>): number;
  has(name: string): boolean;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** Prometheus reads values with Go's ParseFloat, which takes Inf and NaN in any case (prom-client writes "Nan"). */
function parseValue(v: string, where: string): number {
  const l = v.toLowerCase();
  if (l === "+inf" || l === "inf") return Infinity;
  if (l === "-inf") return -Infinity;
  if (l === "nan") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`${where}: ${JSON.stringify(v)} is not a sample value`);
  return Number(v);
}

/** `{a="x",b="y\"z"}` from `text` at `start` (just after the name); returns the labels and the index after `}`. */
function parseLabels(text: string, start: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (text[i] === "}") return { labels, end: i + 1 };
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`${where}: unterminated label set`);
    const key = text.slice(i, eq);
    if (!LABEL.test(key)) throw new Error(`${where}: ${JSON.stringify(key)} is not a label name`);
    if (key in labels) throw new Error(`${where}: label ${key} repeated`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label ${key} value is not quoted`);
    let j = eq + 2;
    let value = "";
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`${where}: unterminated value of label ${key}`);
      if (c === '"') break;
      if (c === "\\") {
        const n = text[j + 1];
        if (n === "\\") value += "\\";
        else if (n === '"') value += '"';
        else if (n === "n") value += "\n";
        else throw new Error(`${where}: bad escape in label ${key}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[key] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`${where}: expected , or } after label ${key}`);
  }
}

export function parsePrometheusText(text: string): Family[] {
  const families = new Map<string, { name: string; type: FamilyType; help: string; samples: Sample[] }>();
  let current: { name: string; type: FamilyType; help: string; samples: Sample[] } | undefined;
  const helps = new Map<string, string>();
  text.split("\n").forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest = ""] = m;
      if (!NAME.test(name!)) throw new Error(`${where}: ${JSON.stringify(name)} is not a metric name`);
      if (kind === "HELP") helps.set(name!, rest);
      else {
        if (!TYPES.has(rest)) throw new Error(`${where}: ${JSON.stringify(rest)} is not a metric type`);
        if (families.has(name!)) throw new Error(`${where}: family ${name} declared twice`);
        current = { name: name!, type: rest as FamilyType, help: helps.get(name!) ?? "", samples: [] };
        families.set(name!, current);
      }
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`${where}: not a sample line`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`${where}: ${JSON.stringify(name)} is not a metric name`);
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith("{")) {
      const p = parseLabels(line, nameEnd, where);
      labels = p.labels;
      rest = line.slice(p.end);
    }
    const parts = rest.trim().split(/ +/);
    if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2) throw new Error(`${where}: expected a value (and an optional timestamp)`);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
    const value = parseValue(parts[0]!, where);
    const suffixes = current?.type === "histogram" ? ["_bucket", "_sum", "_count"] : current?.type === "summary" ? ["_sum", "_count"] : [];
    if (!current || (name !== current.name && !suffixes.some((s) => name === `${current!.name}${s}`))) throw new Error(`${where}: sample ${name} outside its declared family`);
    if (current.type === "histogram" && name === current.name) throw new Error(`${where}: a histogram has no bare sample`);
    if (name.endsWith("_bucket") && current.type === "histogram" && labels["le"] === undefined) throw new Error(`${where}: bucket without le`);
    current.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return [...families.values()];
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number }>();
  const keyOf = (labels: Readonly<Record<string, string>>): string => JSON.stringify(Object.entries(labels).filter(([k]) => k !== "le").sort());
  for (const s of f.samples) {
    const e = series.get(keyOf(s.labels)) ?? { buckets: [] };
    series.set(keyOf(s.labels), e);
    if (s.name.endsWith("_bucket")) e.buckets.push([parseValue(s.labels["le"]!, f.name), s.value]);
    if (s.name.endsWith("_count")) e.count = s.value;
  }
  for (const [k, e] of series) {
    e.buckets.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < e.buckets.length; i++) if (e.buckets[i]![1] < e.buckets[i - 1]![1]) throw new Error(`${f.name}${k}: bucket counts decrease`);
    const inf = e.buckets.at(-1);
    if (!inf || inf[0] !== Infinity || inf[1] !== e.count) throw new Error(`${f.name}${k}: the +Inf bucket must equal _count`);
  }
}

export function parseScrape(text: string): Scrape {
  const families = parsePrometheusText(text);
  const byName = new Map(families.map((f) => [f.name, f]));
  return {
    families,
    has: (name) => byName.has(name),
    value(name, labels = {}) {
      const f = byName.get(name);
      if (!f) return 0;
      const wanted = f.type === "histogram" || f.type === "summary" ? `${name}_count` : name;
      return f.samples
        .filter((s) => s.name === wanted && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    },
  };
}
