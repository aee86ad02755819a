/** DELETE /_synapse/admin/v1/event_reports/{report_id}: removes the report, `{}` (404 M_NOT_FOUND when unknown). */
import { z } from "zod";
import { MatrixError } from "../../../core/errors.js";
import { defineClientRoute } from "../../http/index.js";
import type { ReportDeps } from "../deps.js";
import { requireServerAdmin, type AdminDeps } from "./service.js";
import { reportIdParam } from "./event-report-json.js";

export const deleteEventReportRoute = defineClientRoute({
  method: "DELETE",
  path: "/_synapse/admin/v1/event_reports/:reportId",
  auth: "access-token",
  params: z.object({ reportId: z.string().min(1) }),
  async handle({ user, params, log }, deps: Pick<AdminDeps, "users"> & ReportDeps) {
    await requireServerAdmin(deps.users, user, log, "delete event report", params.reportId);
    if (!(await deps.reports.deleteEventReport(reportIdParam(params.reportId)))) throw MatrixError.notFound(`event report ${params.reportId} not found`);
    return {};
  },
});
