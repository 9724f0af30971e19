/** The slice of dependencies the reference routes need (src/worker/wiring.ts builds it). */
export interface ReferenceDeps {
  /**
   * Tables of the D1 migrations the database lacks (empty: migrated); src/platform/readiness.ts. Throws AppError
   * `misconfigured` first when the run-time configuration is invalid (checkRuntimeConfig, src/worker/wiring.ts).
   */
  readonly missingTables: () => Promise<readonly string[]>;
  /** The OpenAPI document (built once per isolate: it depends only on the route table). */
  readonly openApiDocument: () => object;
}
