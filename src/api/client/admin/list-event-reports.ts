/**
 * GET /_synapse/admin/v1/event_reports: a page of event reports, newest first by default (`dir=b`), `from` an
 * offset, `limit` (default 100, at most 1000), filters `room_id` and `user_id` (the reporter); `next_token` when
 * more follow, and `total`.
 */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { parseRoomId, parseUserId } from "../../../core/ids/index.js";
import { defineClientRoute } from "../../http/index.js";
import type { ReportDeps } from "../deps.js";
import { dirParam, intParam, requireServerAdmin, type AdminDeps } from "./service.js";
import { eventReportJson, type EventReportDeps } from "./event-report-json.js";

export const listEventReportsRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/event_reports",
  auth: "access-token",
  query: z.looseObject({ from: z.string().optional(), limit: z.string().optional(), dir: z.string().optional(), room_id: z.string().max(255).optional(), user_id: z.string().max(255).optional() }),
  async handle({ user, query, log }, deps: Pick<AdminDeps, "users"> & ReportDeps & EventReportDeps) {
    await requireServerAdmin(deps.users, user, log, "list event reports");
    const from = intParam(query.from, "from", 0);
    const limit = intParam(query.limit, "limit", 100);
    if (limit > 1000) throw new MatrixError("M_INVALID_PARAM", 400, "limit: at most 1000");
    const dir = query.dir === undefined ? "b" : dirParam(query.dir);
    const page = await deps.reports.listEventReports({
      from, limit, dir,
      ...(query.room_id === undefined ? {} : { roomId: parseRoomId(query.room_id, "room_id") }),
      ...(query.user_id === undefined ? {} : { userId: parseUserId(query.user_id, "user_id") }),
    });
    const reports = await Promise.all(page.reports.map((r) => eventReportJson(deps, r)));
    return { event_reports: reports, total: page.total, ...(from + reports.length < page.total ? { next_token: from + reports.length } : {}) };
  },
});
