// The alert page's "Last response" of a webhook delivery: the recorded error says the status already, so it is not
// said twice ("HTTP 500: HTTP 500"); a status without an error, or an error without a response, reads alone.
import { describe, expect, it } from "vitest";
import { lastResponse } from "../../src/dashboard/pages/alert";

describe("a delivery's last response", () => {
  it("names each status once", () => {
    expect(lastResponse({ last_status: 500, last_error: "HTTP 500" })).toBe("HTTP 500");
    expect(lastResponse({ last_status: 302, last_error: "HTTP 302: redirect not followed" })).toBe("HTTP 302: redirect not followed");
    expect(lastResponse({ last_status: 410, last_error: "410 Gone: endpoint disabled" })).toBe("410 Gone: endpoint disabled");
    expect(lastResponse({ last_status: 204, last_error: null })).toBe("HTTP 204");
    expect(lastResponse({ last_status: null, last_error: "network error: connection refused" })).toBe("network error: connection refused");
    expect(lastResponse({ last_status: null, last_error: null })).toBe("–");
    // an error that does not name the status keeps it in front (5000 is not 500)
    expect(lastResponse({ last_status: 500, last_error: "5000 bytes" })).toBe("HTTP 500: 5000 bytes");
  });
});
