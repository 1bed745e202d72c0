export function ensurePostgresInstalled(): string;
export function startPostgres(): Promise<{ url: string; port: number; stop(): void }>;
