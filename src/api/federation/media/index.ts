/** Federation media (our files for other servers). This file only lists routes. */
import type { Route } from "../../http/index.js";
import type { MediaDeps } from "../../media/deps.js";
import { federationMediaDownload, federationMediaThumbnail } from "./download.js";

export const federationMediaRoutes: readonly Route<MediaDeps>[] = [federationMediaDownload, federationMediaThumbnail] as readonly Route<MediaDeps>[];
