/** What the media routes may be handed; app/ builds it. */
import type { MediaRepository } from "../../media/index.js";

export interface MediaDeps {
  readonly media: MediaRepository;
}
