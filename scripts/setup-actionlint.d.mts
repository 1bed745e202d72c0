export const ACTIONLINT_MODULE: string;
export function findActionlint(): string | undefined;
export function ensureActionlint(): string;
