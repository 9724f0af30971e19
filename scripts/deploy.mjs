#!/usr/bin/env node
// `npm run deploy [-- <wrangler deploy options>]`: the deploy guard (check-deploy-config.mjs) with the same options, so
// a `--var NAME:VALUE` is checked in place of wrangler.toml's value; then the static assets (vendor-assets.mjs); then
// `wrangler deploy` with those options, exiting with its code. npm appends a script's extra arguments to its last
// command only, so a `guard && assets && wrangler deploy` chain would hand them to wrangler alone.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DEPLOY_ARGS_VARIABLE, runGuard } from "./check-deploy-config.mjs";
import { vendorAssets } from "./vendor-assets.mjs";

/** wrangler's own bin, the one `npx wrangler` resolves to, run with this node. */
const WRANGLER_BIN = fileURLToPath(new URL("../node_modules/wrangler/bin/wrangler.js", import.meta.url));

const args = process.argv.slice(2);
if (runGuard(args, process.env) !== 0) process.exit(1);
vendorAssets();
// wrangler runs the guard again as its build command, with no arguments: it reads these (DEPLOY_ARGS_VARIABLE)
const env = { ...process.env, [DEPLOY_ARGS_VARIABLE]: JSON.stringify(args) };
const wrangler = spawnSync(process.execPath, [WRANGLER_BIN, "deploy", ...args], { stdio: "inherit", env });
if (wrangler.error !== undefined) console.error(`scoregate: could not run wrangler: ${wrangler.error.message}`);
// Killed by a signal, wrangler has no status: that is a failed deploy too.
process.exit(wrangler.status ?? 1);
