/**
 * Reading what Aider did: token counts and cost per LLM call from its `--analytics-log` (JSON
 * lines; the terminal report abbreviates counts as "2.1k"), and edit outcomes from its output.
 */

export interface AiderCall {
  promptTokens: number;
  completionTokens: number;
  /** Cost Aider computed for the call in USD; 0 when it knows no price for the model. */
  costUsd: number;
  /** Aider did not report this call's usage: the counts are its approximation, or 0 (unknown). */
  estimated?: boolean;
}

type AnalyticsEvent = { event?: string; properties?: Record<string, unknown> };

/** The `message_send*` events of an analytics log; malformed lines (a run killed mid-write) are skipped. */
function* sendEvents(text: string): Generator<AnalyticsEvent> {
  for (const line of text.split('\n')) {
    if (!line.includes('"message_send')) continue;
    let event: AnalyticsEvent;
    try {
      event = JSON.parse(line) as AnalyticsEvent;
    } catch {
      continue;
    }
    yield event;
  }
}

/** `message_send` events of an analytics log: one per call Aider reported. */
export function parseAnalyticsLog(text: string): AiderCall[] {
  const calls: AiderCall[] = [];
  for (const { event, properties: p } of sendEvents(text)) {
    if (event !== 'message_send' || !p) continue;
    const num = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);
    calls.push({
      promptTokens: Math.round(num(p.prompt_tokens)),
      completionTokens: Math.round(num(p.completion_tokens)),
      costUsd: num(p.cost),
    });
  }
  return calls;
}

/**
 * Calls Aider started but never reported: `message_send_starting` events beyond the `message_send`
 * ones. A reply cut at the model's output limit (finish_reason `length`) ends the run that way;
 * the provider billed it all the same.
 */
export function unreportedCallCount(analyticsLog: string): number {
  let started = 0;
  let reported = 0;
  for (const { event } of sendEvents(analyticsLog)) {
    if (event === 'message_send_starting') started++;
    else if (event === 'message_send') reported++;
  }
  return Math.max(0, started - reported);
}

/**
 * Aider's own approximation when a reply hits the model's token limit ("Input tokens: ~1,696 of
 * 0", "Output tokens: ~240 of 0"), one per such call, in order.
 */
export function parseTokenLimitReports(output: string): Array<{ promptTokens: number; completionTokens: number }> {
  const reports: Array<{ promptTokens: number; completionTokens: number }> = [];
  const re = /Input tokens: ~([\d,]+) of [\d,]+[^\n]*\n\s*Output tokens: ~([\d,]+) of/g;
  for (const m of output.matchAll(re))
    reports.push({ promptTokens: abbreviatedCount(m[1]!), completionTokens: abbreviatedCount(m[2]!) });
  return reports;
}

/** "2.1k" → 2100, "12k" → 12000, "1.5M" → 1500000 (Aider's abbreviated token counts). */
function abbreviatedCount(text: string): number {
  const match = /^([\d.]+)\s*([kKmM]?)$/.exec(text.replace(/,/g, '').trim());
  if (!match) return 0;
  const scale = match[2] === 'k' || match[2] === 'K' ? 1e3 : match[2] ? 1e6 : 1;
  return Math.round(Number(match[1]) * scale);
}

/**
 * Fallback when the analytics log holds nothing (e.g. an Aider older or newer than expected):
 * the terminal report after each call, "Tokens: 2.1k sent, 56 received. Cost: $0.01 message, …".
 * Counts are abbreviated, so this is approximate.
 */
export function parseTokenReports(output: string): AiderCall[] {
  const calls: AiderCall[] = [];
  const re =
    /Tokens: ([\d.,]+[kKmM]?) sent(?:, [\d.,]+[kKmM]? cache write)?(?:, [\d.,]+[kKmM]? cache hit)?, ([\d.,]+[kKmM]?) received\.(?: Cost: \$([\d.]+) message)?/g;
  for (const m of output.matchAll(re)) {
    calls.push({
      promptTokens: abbreviatedCount(m[1]!),
      completionTokens: abbreviatedCount(m[2]!),
      costUsd: m[3] ? Number(m[3]) : 0,
    });
  }
  return calls;
}

export interface AiderOutputSummary {
  /** Files named in "Applied edit to <file>" lines. */
  appliedEdits: string[];
  /** Every file a reply tried to edit: named by one of its SEARCH/REPLACE blocks, applied or not. */
  editTargets: string[];
  /** The model's reply did not follow the edit format (Aider retried it itself). */
  malformedReplies: number;
  /** SEARCH blocks that matched nothing. */
  failedMatches: number;
  /** Provider errors Aider printed (litellm exception lines). */
  providerErrors: string[];
  /** Aider's last LLM call failed with an outage-type error (no usage report after it). */
  lastCallFailed: boolean;
}

/**
 * The file a SEARCH/REPLACE block of a reply names: its path line, then a fence, then the SEARCH
 * marker (cleaned like Aider cleans it: `#`, `*`, backticks, a trailing colon).
 */
export function editBlockTarget(pathLine: string, fenceLine: string, searchLine: string): string | undefined {
  if (!/^\s*`{3,}/.test(fenceLine) || !/^<{5,9} SEARCH\b/.test(searchLine)) return undefined;
  const named = pathLine
    .trim()
    .replace(/^#+\s*/, '')
    .replace(/^[*`]+|[*`:]+$/g, '')
    .trim();
  return named || undefined;
}

export function summarizeAiderOutput(output: string): AiderOutputSummary {
  const appliedEdits = new Set<string>();
  const editTargets = new Set<string>();
  let malformedReplies = 0;
  let failedMatches = 0;
  const providerErrors: string[] = [];
  let lastCallFailed = false;
  const lines = output.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    // The reply's own SEARCH/REPLACE blocks: what the model asked to edit, applied or not.
    const named = editBlockTarget(line, lines[i + 1] ?? '', lines[i + 2] ?? '');
    if (named) editTargets.add(named);
    if (/^Tokens: /.test(line)) lastCallFailed = false;
    const applied = /^Applied edit to (.+?)\s*$/.exec(line);
    if (applied) appliedEdits.add(applied[1]!);
    const target =
      /^(?:Applied edit to |## SearchReplaceNoExactMatch: This SEARCH block failed to exactly match lines in )(.+?)\s*$/.exec(
        line,
      );
    if (target) editTargets.add(target[1]!);
    if (line.includes('did not conform to the edit format')) malformedReplies++;
    if (/SearchReplaceNoExactMatch|failed to match/.test(line)) failedMatches++;
    if (
      /^litellm\.\w+Error|^(?:litellm\.)?(?:AuthenticationError|NotFoundError|BadRequestError|RateLimitError|APIConnectionError|ServiceUnavailableError)\b/.test(
        line.trim(),
      )
    ) {
      providerErrors.push(line.trim());
      if (isTransientProviderError(line)) lastCallFailed = true;
    }
  }
  return {
    appliedEdits: [...appliedEdits],
    editTargets: [...editTargets],
    malformedReplies,
    failedMatches,
    providerErrors,
    lastCallFailed,
  };
}

/**
 * Provider errors that mean the service was unreachable or failing (connection refused, 5xx,
 * timeouts, rate limits) rather than a bad request: exit 7, not a verdict on the edit.
 */
export function isTransientProviderError(line: string): boolean {
  return /InternalServerError|APIConnectionError|ServiceUnavailableError|Timeout|RateLimitError|BadGatewayError|Connection error/i.test(
    line,
  );
}

/** Provider errors that another attempt cannot fix (bad key, unknown model). */
export function isFatalProviderError(line: string): boolean {
  return /AuthenticationError|NotFoundError|PermissionDenied|invalid api key|API key not valid/i.test(line);
}
