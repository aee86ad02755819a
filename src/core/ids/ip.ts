/** Pure IP literal checks (core may not import node:net). */
export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  return parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255 && !(p.length > 1 && p.startsWith("0")));
}

export function isIPv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  let head = s;
  let groupsNeeded = 8;
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!isIPv4(tail)) return false;
    head = s.slice(0, lastColon + 1) + "0:0";
  }
  const dbl = head.split("::");
  if (dbl.length > 2) return false;
  const groups = (x: string): string[] | null => {
    if (x === "") return [];
    const g = x.split(":");
    return g.every((h) => /^[0-9A-Fa-f]{1,4}$/.test(h)) ? g : null;
  };
  if (dbl.length === 2) {
    const a = groups(dbl[0]!);
    const b = groups(dbl[1]!);
    if (!a || !b) return false;
    return a.length + b.length <= groupsNeeded - 1;
  }
  const g = groups(head);
  return g !== null && g.length === groupsNeeded;
}
