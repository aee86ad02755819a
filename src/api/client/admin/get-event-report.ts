/** GET /_synapse/admin/v1/event_reports/{report_id}: one report with the reported event's JSON (404 M_NOT_FOUND when unknown). */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { ReportDeps } from "../deps.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";
import { eventReportJson, reportIdParam, type EventReportDeps } from "./event-report-json.js";

export const getEventReportRoute = defineClientRoute({
  method: "GET",
  path: "/_synapse/admin/v1/event_reports/:reportId",
  auth: "access-token",
  params: z.object({ reportId: z.string().min(1) }),
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users"> & ReportDeps & EventReportDeps) {
    await requireServerAdmin(deps.users, user, log, "get event report", params.reportId);
    const report = await deps.reports.getEventReport(reportIdParam(params.reportId));
    if (!report) throw MatrixError.notFound(`event report ${params.reportId} not found`);
    return eventReportJson(deps, report, true);
  },
});
