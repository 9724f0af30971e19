import type { MissingSchema } from "../platform/readiness";

/** The slice of dependencies the reference routes need (src/worker/wiring.ts builds it). */
export interface ReferenceDeps {
  /**
   * What the database lacks of the D1 migrations' schema (all empty: migrated); src/platform/readiness.ts. Throws
   * AppError `misconfigured` first when the run-time configuration is invalid (checkRuntimeConfig, src/worker/wiring.ts).
   */
  readonly missingSchema: () => Promise<MissingSchema>;
  /** The OpenAPI document (built once per isolate: it depends only on the route table). */
  readonly openApiDocument: () => object;
}
