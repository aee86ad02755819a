/**
 * The one error type every layer shares. Core code returns verdicts where a
 * failure is an expected outcome (auth, signature checks) and throws
 * MatrixError only for malformed input; api/http renders a MatrixError as
 * `{errcode, error, ...extra}` with its status, anything else as 500 M_UNKNOWN.
 */
export type Errcode =
  | "M_FORBIDDEN"
  | "M_UNKNOWN_TOKEN"
  | "M_MISSING_TOKEN"
  | "M_UNAUTHORIZED"
  | "M_BAD_JSON"
  | "M_NOT_JSON"
  | "M_NOT_FOUND"
  | "M_UNRECOGNIZED"
  | "M_LIMIT_EXCEEDED"
  | "M_TOO_LARGE"
  | "M_UNKNOWN"
  | "M_INVALID_PARAM"
  | "M_MISSING_PARAM"
  | "M_USER_IN_USE"
  | "M_INVALID_USERNAME"
  | "M_ROOM_IN_USE"
  | "M_UNSUPPORTED_ROOM_VERSION"
  | "M_INCOMPATIBLE_ROOM_VERSION"
  | "M_BAD_STATE"
  | "M_GUEST_ACCESS_FORBIDDEN"
  | "M_EXCLUSIVE"
  | "M_USER_DEACTIVATED"
  | "M_SERVER_NOT_TRUSTED"
  | "M_WEAK_PASSWORD"
  | "M_INVALID_SIGNATURE"
  | "M_WRONG_ROOM_KEYS_VERSION"
  | "M_CANNOT_OVERWRITE_MEDIA"
  | "M_NOT_YET_UPLOADED"
  /** Sliding sync (MSC4186): the `pos` is unknown or expired; the client starts the connection over. */
  | "M_UNKNOWN_POS"
  | "M_THREEPID_MEDIUM_NOT_SUPPORTED"
  | "M_THREEPID_AUTH_FAILED"
  /** make_join / send_join of a restricted room: the resident cannot tell whether the user meets the allow list. */
  | "M_UNABLE_TO_AUTHORISE_JOIN"
  /** make_join / send_join of a restricted room: the user qualifies but the resident cannot authorise; try another. */
  | "M_UNABLE_TO_GRANT_JOIN";

export class MatrixError extends Error {
  constructor(
    readonly errcode: Errcode,
    readonly status: number,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = "MatrixError";
  }

  toJSON(): Record<string, unknown> {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }

  static forbidden(why: string): MatrixError {
    return new MatrixError("M_FORBIDDEN", 403, why);
  }
  static unauthorized(why: string): MatrixError {
    return new MatrixError("M_UNAUTHORIZED", 401, why);
  }
  static badJson(why: string): MatrixError {
    return new MatrixError("M_BAD_JSON", 400, why);
  }
  static notJson(why: string): MatrixError {
    return new MatrixError("M_NOT_JSON", 400, why);
  }
  static notFound(why: string): MatrixError {
    return new MatrixError("M_NOT_FOUND", 404, why);
  }
  static tooLarge(why: string): MatrixError {
    return new MatrixError("M_TOO_LARGE", 413, why);
  }
  static invalidParam(field: string, why: string): MatrixError {
    return new MatrixError("M_INVALID_PARAM", 400, `${field}: ${why}`);
  }
  static missingParam(field: string): MatrixError {
    return new MatrixError("M_MISSING_PARAM", 400, `missing required parameter ${field}`);
  }
  static unsupportedRoomVersion(version: string): MatrixError {
    return new MatrixError("M_UNSUPPORTED_ROOM_VERSION", 400, `room version ${JSON.stringify(version)} is not supported`);
  }
  static unrecognized(why: string, status = 404): MatrixError {
    return new MatrixError("M_UNRECOGNIZED", status, why);
  }
  static limitExceeded(retryAfterMs: number): MatrixError {
    return new MatrixError("M_LIMIT_EXCEEDED", 429, "too many requests", { retry_after_ms: retryAfterMs });
  }
}

/**
 * A failure over data this server holds itself (what it stored, the events it builds, the key responses it
 * cached): the fault is ours, never the client's, so it must not reach a client as a 4xx. It is deliberately not a
 * MatrixError: api/http answers it 500 M_UNKNOWN and logs it with its cause.
 */
export class OwnDataError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "OwnDataError";
  }
}

/** Runs `fn` over data this server holds; a MatrixError it throws becomes an OwnDataError naming `what`. */
export function overOwnData<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof MatrixError) throw new OwnDataError(what, e);
    throw e;
  }
}
