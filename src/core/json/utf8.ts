/** The UTF-8 length of a string in bytes, without encoding it (limits are in bytes, strings are UTF-16). */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
