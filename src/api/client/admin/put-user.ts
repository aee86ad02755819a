/**
 * PUT /_synapse/admin/v2/users/{userId}: creates a local user (201) or changes it (200): password, logout_devices,
 * displayname, avatar_url, admin, deactivated. Answers with the user as GET does.
 */
import { z } from "zod";
import { defineClientRoute, HttpResponse } from "../../http/index.js";
import { localUserParam, requireServerAdmin, upsertUser, type AdminDeps } from "./service.js";
import { UserParams } from "./user-param.js";

const Body = z.looseObject({
  password: z.string().nullable().optional(),
  logout_devices: z.boolean().optional(),
  displayname: z.string().max(256).nullable().optional(),
  avatar_url: z.string().max(1024).nullable().optional(),
  admin: z.boolean().optional(),
  deactivated: z.boolean().optional(),
});

export const putUserRoute = defineClientRoute({
  method: "PUT",
  path: "/_synapse/admin/v2/users/:userId",
  auth: "access-token",
  params: UserParams,
  body: Body,
  emptyBodyIsObject: true,
  maxBodyBytes: 64 * 1024,
  async handle({ user, params, body, log }, deps: AdminDeps) {
    const caller = await requireServerAdmin(deps.users, user, log, "create or modify user", params.userId);
    const r = await upsertUser(deps, caller, localUserParam(params.userId, deps, "create or modify"), body);
    return HttpResponse.json(r.created ? 201 : 200, r.user);
  },
});
