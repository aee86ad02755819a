/** The notary routes (/_matrix/key/v2/query). This file only lists routes. */
import type { Route } from "../../http/index.js";
import { queryKeys, queryServerKeys, queryServerKeysById, type KeyQueryDeps } from "./query.js";

export type { KeyQueryDeps };

export const keyQueryRoutes: readonly Route<KeyQueryDeps>[] = [queryKeys, queryServerKeys, queryServerKeysById] as readonly Route<KeyQueryDeps>[];
