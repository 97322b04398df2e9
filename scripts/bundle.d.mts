// Types of scripts/bundle.mjs for the TypeScript that imports it (scripts/lane/bundle.ts, tests).
/** Where `npm run bundle` writes, under the clone's root REPO: dist/epctl-bundle.cjs. */
export declare function bundlePath(repo: string): string;
/** Builds the one-file epctl bundle of the clone at REPO, writes it to OUTFILE (mode 0755) and returns its text. */
export declare function bundleEpctl(repo: string, outfile?: string): Promise<string>;
