/**
 * The slice of dependencies the dashboard needs: it reads and acts through the other features' services, so its
 * slice is theirs combined (src/worker/wiring.ts builds it from `env`).
 */
import type { AlertDeps } from "../alerts/deps";
import type { ActivationDeps, RegistryDeps } from "../calibrations/deps";
import type { MonitorStatusDeps } from "../monitoring/deps";
import type { PromotionDeps } from "../promotions/deps";
import type { WebhookDeps } from "../webhooks/deps";

export type DashboardDeps = RegistryDeps & ActivationDeps & AlertDeps & MonitorStatusDeps & WebhookDeps & PromotionDeps;
