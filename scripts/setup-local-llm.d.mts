export declare const LLAMA_CPP_VERSION: string;
export declare const GGUF_NAME: string;
export declare const venvDir: string;
export declare const venvPython: string;
export declare function findGguf(): string | undefined;
export declare function ensureLocalLlm(options?: { log?: (line: string) => void }): { python: string; gguf: string };
