// Types of bin/launch.mjs for TypeScript callers (test/bench/startup.bench.ts).
export declare const STAMP: string;
export declare const SOURCE_DIRS: readonly string[];
export declare function distProblem(): string | undefined;
export declare function launch(entry: string): Promise<void>;
