import { lintSource } from '@secretlint/core';
import { secretLintProfiler } from '@secretlint/profiler';
import { creator as recommendedPreset } from '@secretlint/secretlint-rule-preset-recommend';

/**
 * Finds credentials inside ordinary file content and masks them, so the index, prompts, review
 * diffs and Aider's read-only context never carry them. Detection is secretlint's recommended
 * rule set (AWS, GCP, GitHub, Slack, OpenAI, Anthropic, private keys, connection strings, …),
 * topped up with the provider key shapes this tool itself handles (OpenRouter `sk-or-v1-…`,
 * Gemini `AIza…`) and quoted high-entropy values assigned to key/secret/password/token names.
 * File names are the other half of the defence (`isSecretPath` in index/discover.ts).
 */

export interface SecretFinding {
  /** Which rule matched, e.g. `aws/AWSSecretAccessKey` (never the value). */
  rule: string;
  /** 1-based line of the match's start. */
  line: number;
  /** Offsets of the secret in the scanned text, end exclusive. */
  start: number;
  end: number;
}

export interface RedactedText {
  text: string;
  findings: SecretFinding[];
}

export const REDACTION_MARK = '[REDACTED]';

// @secretlint/profiler 12 (13 needs Node 22) records a mark per rule per file into an observer that
// keeps every mark and searches them all on each new one: quadratic in the files scanned, and its
// memory never shrinks. Nothing reads that profile, and an index of 3,300 files spent minutes of
// its main thread there, so the marks are dropped (upstream made profiling opt-in in 13.1).
secretLintProfiler.mark = () => {};

type LintConfig = Parameters<typeof lintSource>[0]['options']['config'];
const SECRETLINT_CONFIG: LintConfig = { rules: [{ id: recommendedPreset.meta.id, rule: recommendedPreset }] };
const RULE_PREFIX = '@secretlint/secretlint-rule-';

/**
 * Key shapes secretlint's preset does not know; `(?=…\d)` keeps prose like `sk-learn-…` out.
 * Every repetition is bounded, so hostile input (`sk-sk-sk-…`) stays linear, not quadratic.
 */
const KEY_SHAPES: Array<{ rule: string; pattern: RegExp }> = [
  { rule: 'ai-dev-bot/sk-key', pattern: /\bsk-(?=[A-Za-z0-9_-]{0,64}\d)[A-Za-z0-9_-]{20,512}/g },
  { rule: 'ai-dev-bot/google-api-key', pattern: /\bAIza[0-9A-Za-z_-]{35}/g },
];

/** `PASSWORD = "…"`, `apiKey: '…'`: the quoted value (group 1) is a secret when it looks random. */
const ASSIGNED_SECRET =
  /(?:api[_-]?key|secret|passw(?:or)?d|token|access[_-]?key|private[_-]?key|auth)\w{0,40}["']?\s{0,8}(?::|=|:=|=>)\s{0,8}["'`]([A-Za-z0-9+/=_.~!@#$%^&*-]{16,512})["'`]/gi;

/** Shannon entropy in bits per character: random keys score ≥ 3.5, identifiers and words lower. */
function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

function looksRandom(value: string): boolean {
  return /\d/.test(value) && /[A-Za-z]/.test(value) && entropy(value) >= 3.5;
}

function ownFindings(text: string): Array<Omit<SecretFinding, 'line'>> {
  const out: Array<Omit<SecretFinding, 'line'>> = [];
  for (const { rule, pattern } of KEY_SHAPES) {
    for (const m of text.matchAll(pattern)) out.push({ rule, start: m.index, end: m.index + m[0].length });
  }
  for (const m of text.matchAll(ASSIGNED_SECRET)) {
    const value = m[1]!;
    if (!looksRandom(value)) continue;
    const start = m.index + m[0].lastIndexOf(value);
    out.push({ rule: 'ai-dev-bot/assigned-secret', start, end: start + value.length });
  }
  return out;
}

/** Some rules match `NAME = "value`; the name stays readable, only the value is the secret. */
function assignedNameLength(match: string): number {
  const name = /^[A-Za-z_][\w.-]*["']?\s*(?::=|=>|=|:)\s*["'`]?/.exec(match);
  return name && name[0].length < match.length ? name[0].length : 0;
}

/**
 * secretlint's AWS rule reports `NAME = "value` cut at the value's length from the name's start;
 * extending a span to the end of its token keeps a partial report from leaking the value's tail.
 */
function tokenEnd(text: string, end: number): number {
  let at = end;
  while (at < text.length && !/[\s"'`,;)\]}>]/.test(text[at]!)) at++;
  return at;
}

/** Sorted by start; overlapping matches (two rules on one key) merge into one span. */
function mergeSpans(spans: Array<Omit<SecretFinding, 'line'>>): Array<Omit<SecretFinding, 'line'>> {
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Array<Omit<SecretFinding, 'line'>> = [];
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    if (last && span.start < last.end) last.end = Math.max(last.end, span.end);
    else merged.push({ ...span });
  }
  return merged;
}

function withLines(text: string, spans: Array<Omit<SecretFinding, 'line'>>): SecretFinding[] {
  let line = 1;
  let at = 0;
  return spans.map((span) => {
    for (let i = text.indexOf('\n', at); i !== -1 && i < span.start; i = text.indexOf('\n', i + 1)) {
      line++;
      at = i + 1;
    }
    return { ...span, line };
  });
}

/**
 * Where `text` holds credentials. `fileName` (repo-relative) helps rules that look at the name;
 * nothing is read from disk. About 10–15 ms per MB of source on this project's reference machine.
 */
export async function scanSecrets(text: string, fileName = 'content.txt'): Promise<SecretFinding[]> {
  if (text.length === 0) return [];
  const ext = fileName.includes('.') ? fileName.slice(fileName.lastIndexOf('.')) : '';
  const result = await lintSource({
    source: { filePath: fileName, content: text, ext, contentType: 'text' },
    options: { config: SECRETLINT_CONFIG, maskSecrets: true, noPhysicFilePath: true },
  });
  const spans = result.messages
    .filter((m) => m.type === 'message')
    .map((m) => ({
      rule: `${m.ruleId.replace(RULE_PREFIX, '')}/${m.messageId}`,
      start: m.range[0] + assignedNameLength(text.slice(m.range[0], m.range[1])),
      end: tokenEnd(text, m.range[1]),
    }));
  return withLines(text, mergeSpans([...spans, ...ownFindings(text)]));
}

/**
 * `text` with every finding replaced by `[REDACTED]`. Line breaks inside a finding (a PEM block)
 * are kept, so line numbers of the redacted text match the file's.
 */
export async function redactContentSecrets(text: string, fileName?: string): Promise<RedactedText> {
  const findings = await scanSecrets(text, fileName);
  if (findings.length === 0) return { text, findings };
  let out = '';
  let at = 0;
  for (const f of findings) {
    out += text.slice(at, f.start) + REDACTION_MARK + text.slice(f.start, f.end).replace(/[^\n]/g, '');
    at = f.end;
  }
  return { text: out + text.slice(at), findings };
}
