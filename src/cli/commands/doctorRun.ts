import { configSchema, loadConfig, type Config } from '../../core/config.js';
import { runDoctor, type DoctorCheck } from '../../core/doctor/doctor.js';
import { AppError, ExitCode } from '../../core/errors.js';
import { stderrProgress } from '../../core/index/model/fetchModel.js';
import { openWorkspace, type Workspace } from '../../core/workspace.js';
import type { CommandContext } from '../context.js';
import { aiderVersionCacheFile, projectAiderFallbacks } from '../../core/implement/aiderLocator.js';

export interface DoctorFlags {
  online?: boolean;
  fetchModel?: boolean;
}

/** Doctor runs anywhere: outside a repository, and with a config it reports as broken. */
function workspaceAndConfig(ctx: CommandContext): {
  ws: Workspace | undefined;
  config: Config;
  configCheck: DoctorCheck;
} {
  let ws: Workspace | undefined;
  try {
    ws = openWorkspace(ctx.cwd);
  } catch (error) {
    if (!(error instanceof AppError && error.code === 'not_a_git_repo')) throw error;
  }
  try {
    return {
      ws,
      config: loadConfig(ws ? { repoRoot: ws.root } : {}),
      configCheck: { id: 'config', status: 'ok', detail: 'configuration valid' },
    };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const configCheck: DoctorCheck = {
      id: 'config',
      status: 'error',
      detail: error.message,
      fix: error.hint ?? 'Fix the named key.',
    };
    return { ws, config: configSchema.parse({}), configCheck };
  }
}

const mark = { ok: 'ok  ', warning: 'warn', error: 'FAIL' } as const;

export async function runDoctorCommand(ctx: CommandContext, flags: DoctorFlags): Promise<void> {
  const { ws, config, configCheck } = workspaceAndConfig(ctx);
  const report = await runDoctor({
    cwd: ctx.cwd,
    env: process.env,
    config,
    workspace: ws,
    aider: {
      ...(config.aider.bin ? { configured: config.aider.bin } : {}),
      fallbacks: projectAiderFallbacks(),
      versionCacheFile: aiderVersionCacheFile(),
    },
    online: Boolean(flags.online),
    ...(flags.fetchModel
      ? { fetchModel: { log: (line: string) => ctx.out.info(`fetch-model: ${line}`), progress: stderrProgress() } }
      : {}),
  });
  const checks = [configCheck, ...report.checks];
  const ok = checks.every((check) => check.status !== 'error');
  ctx.out.result({ ok, checks }, () =>
    checks
      .map(
        (check) =>
          `${mark[check.status]}  ${check.id.padEnd(24)} ${check.detail}${check.fix ? `\n      fix: ${check.fix}` : ''}`,
      )
      .join('\n'),
  );
  if (!ok) process.exitCode = ExitCode.usage;
}
