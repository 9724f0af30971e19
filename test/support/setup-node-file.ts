/**
 * Runs before each test file of the Node projects ("unit", "packages"). They reuse one Node process for many files
 * (`isolate: false` in vitest.config.ts: about half a second saved per file), so this gives each file what a fresh
 * process gave it: its own evaluation of src/ and test/support/ (module state such as an isolate cache or a counter
 * never carries over from an earlier file). Packages from node_modules are shared, as they hold no test state.
 */
import { vi } from "vitest";

vi.resetModules();
