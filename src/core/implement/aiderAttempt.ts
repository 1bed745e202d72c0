import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors.js';
import type { Workspace } from '../workspace.js';
import { mentionedCredentialFiles } from './aiderAllowList.js';
import { buildAiderInvocation, type AiderInvocation, type AiderPaths } from './aiderInvocation.js';
import type { AiderRunResult } from './aiderRunner.js';
import { forbiddenEditReason } from './attemptChanges.js';
import type { AttemptHold } from './attemptBudget.js';
import { buildCoderMessage, type PreviousRejection } from './coderMessage.js';
import { interruptedError } from './gate.js';
import { relPosix } from './itemFiles.js';
import { charge, ItemStopped, type AttemptResult, type ImplementDeps, type ItemWork } from './itemWork.js';

/** One attempt's request to Aider, ready to run. */
export interface PreparedAttempt {
  n: number;
  message: string;
  /** The plan file as it was, to undo an edit Aider makes to it. */
  planBefore: string;
  paths: AiderPaths;
  transcript: string;
  invocation: AiderInvocation;
}

/** Aider's HOME and the per-run key files and allow-lists (removed after each run and by recovery). */
export function aiderStateDir(ws: Workspace): string {
  return path.join(ws.stateDir, 'aider');
}

function attemptPaths(ws: Workspace, workId: string, n: number): { paths: AiderPaths; transcript: string } {
  const base = path.join(ws.logsDir, `${workId.slice(0, 8)}-attempt${n}`);
  return {
    paths: {
      messageFile: `${base}.message.md`,
      envFile: path.join(aiderStateDir(ws), `${workId}.env`),
      home: path.join(aiderStateDir(ws), 'home'),
      chatHistoryFile: `${base}.chat.md`,
      inputHistoryFile: path.join(aiderStateDir(ws), 'input.history'),
      llmHistoryFile: `${base}.llm.log`,
      analyticsLog: `${base}.analytics.jsonl`,
      aiderIgnoreFile: path.join(aiderStateDir(ws), `${workId}.aiderignore`),
    },
    transcript: `${base}.aider.log`,
  };
}

/** Announces attempt `n` and writes its request: the item, the last rejection, the allowed files. */
export async function prepareAttempt(
  deps: Pick<ImplementDeps, 'ws' | 'config' | 'plan' | 'reporter' | 'coder' | 'env'>,
  work: ItemWork,
  n: number,
  previous: PreviousRejection | undefined,
): Promise<PreparedAttempt> {
  const { ws, config, reporter, coder } = deps;
  const { item, files } = work;
  work.current = null;
  reporter.info(
    `${item.id} attempt ${n}/${work.attemptsTotal}: Aider (${coder.provider}/${coder.model}) is editing ${files.files.join(', ') || 'the repository'}…`,
  );
  reporter.event?.({ type: 'attempt_started', item: item.id, attempt: n, attempts: work.attemptsTotal });
  const planBefore = readFileSync(deps.plan.file, 'utf8');
  const message = buildCoderMessage({
    item,
    planFile: work.planRel,
    checkCommand: config.verify.command,
    attempt: n,
    ...(previous ? { previous } : {}),
  });
  const { paths, transcript } = attemptPaths(ws, work.id, n);
  // A file the request names is added by Aider whole: not one that holds a credential.
  const named = await mentionedCredentialFiles(ws.root, files.allowed, message, files.files);
  if (named.length > 0)
    reporter.debug(`Hidden from Aider although the request names them (they hold credentials): ${named.join(', ')}`);
  const invocation = buildAiderInvocation({
    coder,
    config,
    files: files.files,
    readFiles: files.readFiles,
    allowed: files.allowed.filter((f) => !named.includes(f)),
    paths,
    env: deps.env,
  });
  return { n, message, planBefore, paths, transcript, invocation };
}

/**
 * Runs Aider for the attempt and records its spend; from here on the attempt is `work.current`.
 * Stops the item when Aider cannot start or the run was interrupted.
 */
export async function runAiderAttempt(
  deps: Pick<ImplementDeps, 'config' | 'aider' | 'runAider' | 'runs' | 'reporter' | 'signal' | 'timing'>,
  work: ItemWork,
  prepared: PreparedAttempt,
  hold: AttemptHold,
): Promise<AiderRunResult> {
  const { item, root } = work;
  const started = performance.now();
  let run: AiderRunResult;
  try {
    run = await deps.runAider({
      bin: deps.aider.bin,
      cwd: root,
      invocation: prepared.invocation,
      paths: prepared.paths,
      message: prepared.message,
      timeoutMs: deps.config.aider.timeoutSec * 1000,
      transcriptFile: prepared.transcript,
      signal: deps.signal,
      onSpawn: (pid) => deps.runs.setAiderPid(work.id, pid),
      onOutputLine: (line) => deps.reporter.debug(`aider: ${line}`),
      maxProviderRetries: deps.config.llm.maxRetries,
      isForbiddenEditTarget: (target) => forbiddenEditReason(root, target) !== undefined,
    });
  } catch (error) {
    hold.release();
    throw new ItemStopped(new AppError('aider_failed', `Aider could not be started: ${(error as Error).message}`));
  } finally {
    if (deps.timing) deps.timing.aiderMs += performance.now() - started;
  }
  deps.runs.setAiderPid(work.id, null);
  deps.reporter.event?.({
    type: 'aider_finished',
    item: item.id,
    attempt: prepared.n,
    exitCode: run.exitCode,
    seconds: Math.round(run.durationMs) / 1000,
    calls: run.calls.length,
    editedFiles: run.summary.appliedEdits,
  });
  const spent = hold.record(run);
  const attempt: AttemptResult = {
    n: prepared.n,
    verdict: 'FAILED',
    feedback: '',
    problems: [],
    checks: null,
    creditsMilli: 0n,
    costNano: 0n,
    aider: {
      exitCode: run.exitCode,
      seconds: Math.round(run.durationMs) / 1000,
      calls: run.calls.length,
      editedFiles: run.summary.appliedEdits,
      transcript: relPosix(root, prepared.transcript),
    },
    changedFiles: [],
  };
  work.outcome.attempts.push(attempt);
  work.current = { attempt, aiderMs: run.durationMs, recorded: false };
  charge(work, spent);
  if (run.aborted || deps.signal.aborted) throw new ItemStopped(interruptedError(), 'interrupted');
  return run;
}
