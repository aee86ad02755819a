/** What the media routes may be handed; app/ builds it. */
import type { MediaRepository, UrlPreviewer } from "../../media/index.js";

export interface MediaDeps {
  readonly media: MediaRepository;
  /** URL previews; undefined unless url_preview_enabled. */
  readonly urlPreviews: UrlPreviewer | undefined;
}
