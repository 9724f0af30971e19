import { Hono } from "hono";
import type { AppBindings } from "../app-env";
import { requireScope } from "../http/auth-middleware";
import { listGates } from "../services/registry";

export const gateRoutes = new Hono<AppBindings>().get("/gates", requireScope("read"), async (c) => {
  return c.json({ gates: await listGates(c.get("deps")) });
});
