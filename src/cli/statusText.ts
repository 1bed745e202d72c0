import type { ProjectStatus, SpendJson } from '../core/projectStatus.js';
import type { Style } from './terminal.js';

type Paint = (style: Style, text: string) => string;

/** "3 min ago" for recent times, the UTC date and time otherwise. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

const credits = (n: number) => n.toFixed(3).replace(/\.?0+$/, '') || '0';

function spendLines(rows: SpendJson[], paint: Paint): string[] {
  return rows.map(
    (r) =>
      `    ${r.task.padEnd(13)} ${`${r.provider}/${r.model}`.padEnd(34)} ${String(r.calls).padStart(4)} calls  ${credits(r.credits).padStart(9)} credits  ${paint('dim', `$${r.usd.toFixed(4)}`)}`,
  );
}

function outcomeWord(a: NonNullable<ProjectStatus['lastAttempt']>, paint: Paint): string {
  switch (a.outcome) {
    case 'approved':
      return paint('green', `approved${a.commit ? ` (${a.commit.slice(0, 12)})` : ''}`);
    case 'rejected':
      return paint('red', 'rejected');
    case 'running':
      return paint('cyan', 'running');
    case 'restored':
      return paint('yellow', 'stopped (tree restored)');
    default:
      return paint('red', 'failed');
  }
}

/** The `status` summary: plain lines, coloured only when `paint` colours. */
export function statusText(s: ProjectStatus, paint: Paint, now = Date.now()): string {
  const lines: string[] = [];
  const head = (t: string) => paint('bold', t);
  if (s.plan) {
    const p = s.plan;
    lines.push(
      `${head('Plan')} ${p.file}: ${paint('green', `${p.done}/${p.total} done`)}` +
        (p.rejected ? `, ${paint('red', `${p.rejected} rejected`)}` : '') +
        (p.next ? `; next ${paint('cyan', p.next)}` : '; nothing open') +
        (p.goal ? ` — ${p.goal}` : ''),
    );
  } else {
    lines.push(`${head('Plan')}: none yet (ai-dev-bot plan "<goal>")`);
  }
  const a = s.lastAttempt;
  if (a) {
    lines.push(
      `${head('Last attempt')} ${a.item} ${a.title}: ${outcomeWord(a, paint)} after ${a.attempts} attempt${a.attempts === 1 ? '' : 's'}, ${ago(a.at, now)}`,
    );
    if (a.feedback) lines.push(`    ${paint('dim', `feedback: ${a.feedback}`)}`);
  }
  lines.push(`${head('Credits')} ${credits(s.credits.balance)} (spent today ${credits(s.credits.spentToday)})`);
  if (s.spend.plan) {
    const since = s.spend.plan.since ? `since ${s.spend.plan.since.slice(0, 16).replace('T', ' ')} UTC` : 'all time';
    lines.push(
      `  this plan (${since}): ${credits(s.spend.plan.total.credits)} credits ($${s.spend.plan.total.usd.toFixed(4)})`,
      ...spendLines(s.spend.plan.rows, paint),
    );
  }
  if (s.spend.today.length > 0) lines.push('  today:', ...spendLines(s.spend.today, paint));
  if (s.index) {
    lines.push(
      `${head('Index')} ${s.index.files} files, ${s.index.chunks} chunks, ` +
        (s.index.stale === 0
          ? paint('green', 'up to date')
          : paint('yellow', `${s.index.stale} files changed since the last run (ai-dev-bot index)`)),
    );
  } else {
    lines.push(`${head('Index')}: none yet (ai-dev-bot index)`);
  }
  lines.push(`${head('Sync')} ${syncText(s.sync)}`);
  return lines.join('\n');
}

function syncText(sync: ProjectStatus['sync']): string {
  if (!sync.configured) return 'not configured (sync.url): the ledger is local to this machine';
  const pending =
    sync.unsynced === 0 ? 'up to date' : `${sync.unsynced} transactions (${sync.unsyncedCredits} credits) not synced`;
  return (
    `${pending}; last sync ${sync.lastSyncAt ?? 'never'}` +
    (sync.lastError ? ` (last attempt failed: ${sync.lastError})` : '')
  );
}
