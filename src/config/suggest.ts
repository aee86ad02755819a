/**
 * "did you mean ...?" for an unknown key: the keys the schema knows at that path, and the nearest one by edit
 * distance (a transposition counts as one edit, so "whitlist" and "whiltelist" both find "whitelist").
 */
import type { z } from "zod";

type PathPart = string | number;

/** zod's definition object, read only for its structure (type, shape, element, inner types). */
interface Def {
  readonly type: string;
  readonly shape?: Readonly<Record<string, z.ZodType>>;
  readonly element?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly options?: readonly z.ZodType[];
}

const defOf = (t: z.ZodType): Def => (t as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas a value at `path` may match (a union gives several). */
function schemasAt(schema: z.ZodType, path: readonly PathPart[]): z.ZodType[] {
  const def = defOf(schema);
  switch (def.type) {
    case "optional": case "default": case "nullable": case "readonly": case "prefault": case "nonoptional": case "catch":
      return def.innerType ? schemasAt(def.innerType, path) : [];
    case "pipe":
      return def.in ? schemasAt(def.in, path) : [];
    case "union":
      return (def.options ?? []).flatMap((o) => schemasAt(o, path));
  }
  if (path.length === 0) return [schema];
  const [head, ...rest] = path;
  if (def.type === "array" && typeof head === "number" && def.element) return schemasAt(def.element, rest);
  if (def.type === "object" && typeof head === "string" && def.shape?.[head]) return schemasAt(def.shape[head], rest);
  return [];
}

/** The keys an object at `path` may have, per the schema. */
export function knownKeysAt(schema: z.ZodType, path: readonly PathPart[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(schema, path)) for (const k of Object.keys(defOf(s).shape ?? {})) keys.add(k);
  return [...keys];
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The nearest candidate within a third of the key's length (at least 2 edits), or undefined. */
export function nearestKey(key: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(key.length / 3));
  let best: { key: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(key.toLowerCase(), c.toLowerCase());
    if (d <= limit && (!best || d < best.d)) best = { key: c, d };
  }
  return best?.key;
}
