import type { Config } from '../config.js';
import { AppError, usageError } from '../errors.js';
import type { Reporter } from '../reporter.js';
import type { Workspace } from '../workspace.js';
import type { MeteredModel } from '../llm/meteredModel.js';
import { requestArchitectPlan } from './architect.js';
import { gatherPlanContext, type ContextLimits, type IndexSearch, type PlanContext } from './planContext.js';
import { normalizeLine, parsePlan, renderPlan, type Plan, type PlanData } from './planFile.js';
import { toPlanItems } from './planSchema.js';
import { assertInputLength } from '../inputLimits.js';
import { checkPlanTarget, lockPlanFile, planLocation, writePlan, type PlanLocation } from './planStore.js';

/** `plan <goal>` end to end: check the target, gather context, ask the architect, write the file. */

export interface CreatePlanOptions {
  ws: Workspace;
  config: Config;
  goal: string;
  replace: boolean;
  /** The architect (task `planning`); its `provider/model` goes into the plan header. */
  architect: MeteredModel;
  search?: IndexSearch;
  reporter: Reporter;
  limits?: Partial<ContextLimits>;
  now?: Date;
}

export interface CreatePlanResult {
  location: PlanLocation;
  plan: Plan;
  archivedTo: string | undefined;
  context: PlanContext;
}

function formatDate(now: Date): string {
  return `${now.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export async function createPlan(options: CreatePlanOptions): Promise<CreatePlanResult> {
  const goal = normalizeLine(options.goal);
  if (!goal)
    throw usageError(
      'The goal is empty.',
      'Describe what to build, e.g. `ai-dev-bot plan "add retries to the HTTP client"`.',
    );
  assertInputLength('goal', goal);
  const location = planLocation(options.ws, options.config);
  // Refuse before spending credits: another command writing the plan (implement), a foreign file,
  // or an existing plan without --replace. The lock is held until the new plan is written.
  const unlock = await lockPlanFile(options.ws, location, 'plan');
  try {
    return await createPlanLocked(options, goal, location);
  } finally {
    unlock();
  }
}

async function createPlanLocked(
  options: CreatePlanOptions,
  goal: string,
  location: PlanLocation,
): Promise<CreatePlanResult> {
  checkPlanTarget(location, { replace: options.replace });

  options.reporter.info('Gathering repository context…');
  const context = await gatherPlanContext({
    root: options.ws.root,
    goal,
    exclude: [location.rel],
    ...(options.search ? { search: options.search } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    reporter: options.reporter,
  });
  options.reporter.debug(
    `context: ${context.fileCount} files, ${context.hits.length} index hits, ${context.manifests.length} manifests, ` +
      `outline ${context.outline.length} chars`,
  );

  const { architect } = options;
  options.reporter.info(`Asking the architect (${architect.label}) for a plan…`);
  const answer = await requestArchitectPlan(architect, { goal, context });
  const now = options.now ?? new Date();
  const data: PlanData = {
    goal,
    date: formatDate(now),
    // The model that answered, as the provider named it (a dated version, say), else the one asked for.
    model: answer.model ? `${architect.provider}/${answer.model.replace(/^models\//, '')}` : architect.label,
    items: toPlanItems(answer.plan),
  };
  const content = renderPlan(data);
  const parsed = parsePlan(content, location.rel);
  // The renderer and parser are tested to agree; this guards the file `implement` will walk.
  if (parsed.plan.items.length !== data.items.length || parsed.warnings.length > 0) {
    throw new AppError('internal', `The rendered plan does not parse back cleanly: ${JSON.stringify(parsed.warnings)}`);
  }
  const { archivedTo } = writePlan(options.ws, location, content, { replace: options.replace, now });
  return { location, plan: parsed.plan, archivedTo, context };
}
