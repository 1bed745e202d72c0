export function aptInstall(pkg: string, why: string): void;
