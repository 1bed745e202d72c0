/** One line of `ai-dev-bot doctor`: what was checked, how it went, and the fix when it is not ok. */
export type CheckStatus = 'ok' | 'warning' | 'error';

export interface DoctorCheck {
  /** Stable id for --json consumers, e.g. `node`, `native.onnxruntime-node`, `provider.gemini`. */
  id: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export const ok = (id: string, detail: string): DoctorCheck => ({ id, status: 'ok', detail });
export const warning = (id: string, detail: string, fix: string): DoctorCheck => ({
  id,
  status: 'warning',
  detail,
  fix,
});
export const failed = (id: string, detail: string, fix: string): DoctorCheck => ({ id, status: 'error', detail, fix });

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
