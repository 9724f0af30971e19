// Types of vendor-assets.mjs for TypeScript callers (vitest.config.ts).
export declare const ASSETS_DIR: string;
export declare function vendorAssets(): string;
