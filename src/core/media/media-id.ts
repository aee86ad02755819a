/** Media ids: https://spec.matrix.org/v1.16/client-server-api/#matrix-content-mxc-uris */
import { MatrixError } from "../errors.js";

export type MediaId = string & { readonly __brand: "MediaId" };

/** The spec allows only A-Z a-z 0-9 _ - in a media id; 255 characters at most here. */
export function parseMediaId(raw: string): MediaId {
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(raw)) throw MatrixError.invalidParam("mediaId", "a media id is 1-255 characters of A-Z a-z 0-9 _ -");
  return raw as MediaId;
}
