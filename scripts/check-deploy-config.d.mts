// Types of the deploy guard (check-deploy-config.mjs, plain ESM so wrangler's build command runs it with node alone).
export declare const PLACEHOLDER_IDS: readonly string[];
export declare const LOCAL_WRANGLER_COMMANDS: readonly string[];
export declare const DRY_RUN_VARIABLE: string;
export declare const DEPLOY_ARGS_VARIABLE: string;
export declare const OBSERVATION_INGEST_MODES: readonly string[];
export declare const QUEUE_CREATE_COMMANDS: readonly string[];
export declare const RELAXED_ENVIRONMENTS: readonly string[];
export declare const DRIFT_VAR_RANGES: Readonly<Record<string, { readonly ok: (x: number) => boolean; readonly range: string }>>;
export declare const WRANGLER_TOML: string;
/** The vars a `wrangler deploy` command line sets with `--var NAME:VALUE` (a later NAME wins). */
export declare function cliVars(args: readonly string[]): Record<string, string>;
export declare function deployConfigProblems(toml: string, vars?: Readonly<Record<string, string>>): string[];
export declare function ingestProblems(toml: string, vars?: Readonly<Record<string, string>>): string[];
export declare function varProblems(toml: string, vars?: Readonly<Record<string, string>>): string[];
export declare function publicUrlProblem(raw: string): string | null;
export declare function guardMode(env: Readonly<Record<string, string | undefined>>, args?: readonly string[]): { check: boolean; reason?: string };
/** Whether a `wrangler deploy` command line asks for a dry run (`--dry-run`, `--dry-run=true`; not `--dry-run false`). */
export declare function isDryRun(args: readonly string[]): boolean;
/** The command line the guard checks: `argv`, else the one scripts/deploy.mjs handed down in DEPLOY_ARGS_VARIABLE. */
export declare function guardArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): readonly string[];
/** The guard over `path` (wrangler.toml) with the vars of `args`; prints the refusal; returns the exit code (1: refused). */
export declare function runGuard(args: readonly string[], env: Readonly<Record<string, string | undefined>>, path?: string): number;
