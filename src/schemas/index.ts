/**
 * THE API contract: every request and response schema of scoregate and its inferred type. Routes validate with these,
 * services take the inferred types, and the client SDK and OpenAPI document derive from this module (z.toJSONSchema).
 * One module, split into files by resource; import it as "schemas", never a file inside.
 */
export * from "./common";
export * from "./calibrations";
export * from "./serving";
export * from "./monitoring";
export * from "./webhooks";
export * from "./envelopes";
