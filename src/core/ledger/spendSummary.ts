import type { SpendRow } from './ledger.js';

/** What a set of LLM calls used and cost, added up. */
export interface SpendGroup {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costNano: bigint;
  creditsMilli: bigint;
}

export interface SpendSummary {
  total: SpendGroup;
  byTask: Map<string, SpendGroup>;
  /** Keyed `provider/model`. */
  byModel: Map<string, SpendGroup>;
}

const empty = (): SpendGroup => ({ calls: 0, inputTokens: 0, outputTokens: 0, costNano: 0n, creditsMilli: 0n });

function group(rows: SpendRow[], key: (r: SpendRow) => string): Map<string, SpendGroup> {
  const out = new Map<string, SpendGroup>();
  for (const r of rows) {
    const g = out.get(key(r)) ?? empty();
    g.calls += r.calls;
    g.inputTokens += r.inputTokens;
    g.outputTokens += r.outputTokens;
    g.costNano += r.costNano;
    g.creditsMilli += r.creditsMilli;
    out.set(key(r), g);
  }
  return out;
}

/** The ledger's spend rows added up in total, per task and per model (`credits` shows them). */
export function summarizeSpend(rows: SpendRow[]): SpendSummary {
  return {
    total: group(rows, () => 'all').get('all') ?? empty(),
    byTask: group(rows, (r) => r.task),
    byModel: group(rows, (r) => `${r.provider}/${r.model}`),
  };
}
