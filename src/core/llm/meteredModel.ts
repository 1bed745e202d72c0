import type { Spend } from './budget.js';
import { echoInvalidAnswer, parseAnswer, reaskPrompt, type AnswerSchema } from './jsonAnswer.js';
import type { CostEstimate, Meter, MeteredResponse } from './meter.js';
import type { LlmMessage, LlmProvider, LlmRequest, ModelChoice } from './types.js';

/**
 * The one seam between the use cases and a paid model: one model of one role (the architect, the
 * coder), every call estimated, held, retried and recorded against the user's ledger and the
 * command's budget (shared by all roles of one command). Its public shape:
 *
 * - `provider`, `model`, `maxOutputTokens`: which model this is (it is a `ModelChoice`).
 * - `budget`: what the command has spent so far (`spent()`, `since(mark)`) and its `--max-cost`.
 * - `complete(request, {task, signal})`: one metered call; throws exit 3 before sending if the
 *   balance or budget could not cover it, exit 7 when the provider fails after retries.
 * - `completeJson(schema, prompt, {task, signal})`: ask for JSON, validate, re-ask once with the
 *   problems. The only caller that sets `jsonSchema`, so the structured-output fallback
 *   (`requestShape.ts`: json_schema → json_object → schema in the prompt, remembered per server in
 *   `shapeMemory.ts`) is entered from here, and this validation is what makes the weaker modes safe.
 * - `estimate(inputTokens, outputTokens?)`: the cost of a call of that size at this model's price.
 * - `reserveExternal(estimate, …)`: credits held for calls made elsewhere with this model (Aider),
 *   then `record(calls)` (the first call frees the hold) or `release()`.
 */
export class MeteredModel implements ModelChoice {
  readonly provider: ModelChoice['provider'];
  readonly model: string;
  readonly maxOutputTokens: number;
  private client: LlmProvider | undefined;

  constructor(
    private readonly meter: Meter,
    choice: ModelChoice,
    /** Our client for the model; a function builds it on the first call (the coder's model is called only by Aider). */
    private readonly connect: LlmProvider | (() => LlmProvider),
  ) {
    this.provider = choice.provider;
    this.model = choice.model;
    this.maxOutputTokens = choice.maxOutputTokens;
  }

  get budget() {
    return this.meter.budget;
  }

  /** `provider/model`, as shown to the user and written to commits and plan headers. */
  get label(): string {
    return `${this.provider}/${this.model}`;
  }

  async complete(request: ModelRequest, options: CallOptions): Promise<MeteredResponse> {
    this.client ??= typeof this.connect === 'function' ? this.connect() : this.connect;
    const full: LlmRequest = { ...request, maxOutputTokens: request.maxOutputTokens ?? this.maxOutputTokens };
    return this.meter.call(this.client, full, options);
  }

  /**
   * Asks for an answer matching `schema`; an invalid one is asked for once more with the problems
   * in the conversation. A second invalid answer is returned as such: what it means (exit 7, a
   * rejection) is the caller's decision. Transport failures throw as in `complete`.
   */
  async completeJson<T>(schema: AnswerSchema<T>, prompt: JsonPrompt, options: CallOptions): Promise<JsonAnswer<T>> {
    const base = {
      system: prompt.system,
      jsonSchema: schema.json,
      ...(prompt.temperature !== undefined ? { temperature: prompt.temperature } : {}),
      ...(prompt.maxOutputTokens !== undefined ? { maxOutputTokens: prompt.maxOutputTokens } : {}),
    };
    const messages: LlmMessage[] = [{ role: 'user', content: prompt.user }];
    const first = await this.complete({ ...base, messages }, options);
    const firstParsed = parseAnswer(schema, first.text);
    if (firstParsed.ok) return { ok: true, value: firstParsed.value, model: first.model };

    this.meter.reporter.warn(
      `The ${prompt.answer} from ${this.label} was invalid; asking once more.\n${firstParsed.problems.map((p) => `- ${p}`).join('\n')}`,
    );
    messages.push(
      { role: 'assistant', content: echoInvalidAnswer(first.text) },
      { role: 'user', content: reaskPrompt(`a valid ${prompt.answer}`, firstParsed.problems, schema.json) },
    );
    const second = await this.complete({ ...base, messages }, options);
    const secondParsed = parseAnswer(schema, second.text);
    if (secondParsed.ok) return { ok: true, value: secondParsed.value, model: second.model };
    return { ok: false, problems: secondParsed.problems, model: second.model };
  }

  estimate(inputTokens: number, outputTokens = this.maxOutputTokens): CostEstimate {
    return this.meter.estimateTokens(this.provider, this.model, inputTokens, outputTokens);
  }

  /**
   * Holds credits for work this model does outside our client (an Aider run): exit 3 if the
   * balance or the budget cannot cover `estimate`. If this process dies during the work, the hold
   * is charged as an estimate of task `task`.
   */
  reserveExternal(
    estimate: Pick<CostEstimate, 'costNano' | 'creditsMilli'>,
    options: { what: string; task: string; ttlMs: number },
  ): ExternalSpend {
    const work = { provider: this.provider, model: this.model, task: options.task };
    const holdId = this.meter.reserve(estimate, options.what, options.ttlMs, work);
    let open = true;
    const release = () => {
      if (open) this.meter.ledger.releaseHold(holdId);
      open = false;
    };
    return {
      record: (calls) => {
        const mark = this.budget.spent();
        for (const call of calls) {
          // The first call frees the hold, in the same transaction as its deduction.
          const hold = open ? holdId : undefined;
          open = false;
          const cost = call.costUsd !== undefined ? { costUsd: call.costUsd } : {};
          this.meter.recordExternalUsage(
            { ...work, inputTokens: call.inputTokens, outputTokens: call.outputTokens, ...cost },
            hold,
            call.estimated === true,
          );
        }
        release();
        return this.budget.since(mark);
      },
      release,
    };
  }
}

/** A request to a `MeteredModel`: `maxOutputTokens` defaults to the model's (config `llm.<role>`). */
export type ModelRequest = Omit<LlmRequest, 'maxOutputTokens'> & { maxOutputTokens?: number };

export interface CallOptions {
  /** What the call is for, stored with its usage row: "ask", "planning", "verification", … */
  task: string;
  signal?: AbortSignal;
}

export interface JsonPrompt {
  system: string;
  user: string;
  /** What the answer is, for the warning and the re-ask: "plan", "review", "README draft". */
  answer: string;
  temperature?: number;
  maxOutputTokens?: number;
}

export type JsonAnswer<T> = { ok: true; value: T; model: string } | { ok: false; problems: string[]; model: string };

/** One call made elsewhere, as its tool reported it. */
export interface ExternalCall {
  inputTokens: number;
  outputTokens: number;
  /** The tool's own cost figure; without it the price table (or the fallback) is used. */
  costUsd?: number;
  /** The tool did not report the counts (they are its approximation or our estimate). */
  estimated?: boolean;
}

/** Credits held for work elsewhere: record what it used (freeing the hold), or release it unused. */
export interface ExternalSpend {
  record(calls: ExternalCall[]): Spend;
  release(): void;
}
