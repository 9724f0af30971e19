/** The HTTP API's version: the server sends it on every response in the `scoregate-api-version` header; clients send `User-Agent: scoregate-<client>/<version>`. Bumped only by an incompatible change of a documented route. */
export const API_VERSION = "1";
/** The response header that carries {@link API_VERSION}. */
export const API_VERSION_HEADER = "scoregate-api-version";
