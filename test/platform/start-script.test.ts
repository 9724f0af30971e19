import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without type declarations
import { argValue, banner, DEFAULT_PORT, portTakenNote, readyUrl } from "../../scripts/start.mjs";

describe("npm start (scripts/start.mjs)", () => {
  it("reads the URL from wrangler's Ready line, colour codes and a trailing slash aside", () => {
    expect(readyUrl("[wrangler:info] Ready on http://localhost:8788\n")).toBe("http://localhost:8788");
    expect(readyUrl("\u001b[32m[wrangler:info]\u001b[39m Ready on \u001b[36mhttp://127.0.0.1:9000/\u001b[39m")).toBe("http://127.0.0.1:9000");
    expect(readyUrl("⎔ Starting local server...\n")).toBeNull();
  });

  it("says the requested port was taken when wrangler bound another, naming both ports and a second server's flags", () => {
    const note: string = portTakenNote(DEFAULT_PORT, "http://localhost:8788");
    expect(note).toContain("Port 8787 was taken, so this server listens on 8788");
    expect(note).toContain("another `npm start` is probably running");
    // the suggested command takes the port this server holds: it says to stop this one first, and that they share state
    expect(note).toContain("This one shares its local state (.wrangler/state)");
    expect(note).toContain(
      "stop this one (Ctrl-C) and start it with a state of its own:\n  npm start -- --port 8788 --persist-to .wrangler/state-8788",
    );
    expect(portTakenNote("9000", "http://localhost:9000")).toBeNull();
    // --port 0 asks for any free port: no port was taken
    expect(portTakenNote("0", "http://localhost:41234")).toBeNull();
  });

  it("builds the banner from the URL wrangler is ready on, not from the port asked for", () => {
    const moved: string = banner("http://localhost:8788", "8787");
    expect(moved).toContain("scoregate (development) on http://localhost:8788");
    expect(moved).toContain('"http://localhost:8788/v1/gates"');
    expect(moved).toContain("Port 8787 was taken");
    const asked: string = banner("http://localhost:8787", "8787");
    expect(asked).toContain('"http://localhost:8787/v1/gates"');
    expect(asked).not.toContain("was taken");
  });

  it("reads --port both as two arguments and as --port=N", () => {
    expect(argValue(["--port", "9000"], "--port")).toBe("9000");
    expect(argValue(["--persist-to=/tmp/a=b", "--port=9001"], "--port")).toBe("9001");
    expect(argValue(["--persist-to=/tmp/a=b"], "--persist-to")).toBe("/tmp/a=b");
    expect(argValue(["--ip", "0.0.0.0"], "--port")).toBeUndefined();
  });
});
