export declare const AIDER_VERSION: string;
export declare const projectRoot: string;
export declare const venvDir: string;
export declare const aiderBin: string;
export declare function ensureAider(options?: { log?: (line: string) => void }): string;
