import { usageError } from '../../core/errors.js';
import { canonicalRepoPath, readTrustStore, revokeRepoTrust, trustStorePath } from '../../core/repoTrust.js';
import { trustRepository } from '../../core/trustRepository.js';
import { findRepoRoot } from '../../core/workspace.js';
import type { CommandContext } from '../context.js';

export interface TrustFlags {
  revoke?: boolean;
  list?: boolean;
}

export async function runTrust(ctx: CommandContext, opts: TrustFlags): Promise<void> {
  if (opts.list && opts.revoke) throw usageError('Use --list or --revoke, not both.');
  if (opts.list) {
    const repos = readTrustStore().repos;
    ctx.out.result({ file: trustStorePath(), repos }, () =>
      repos.length === 0
        ? 'No trusted repositories.'
        : repos.map((r) => `${r.path}  (config sha256 ${r.configSha256.slice(0, 12)}…, ${r.trustedAt})`).join('\n'),
    );
    return;
  }
  const root = findRepoRoot(ctx.cwd).root;
  if (opts.revoke) {
    const revoked = revokeRepoTrust(root);
    ctx.out.result({ path: canonicalRepoPath(root), revoked }, () =>
      revoked ? `No longer trusted: ${canonicalRepoPath(root)}.` : `${canonicalRepoPath(root)} was not trusted.`,
    );
    return;
  }
  const trusted = trustRepository(root);
  ctx.out.result(trusted, () => {
    const lines = [`Trusted ${trusted.path} (config sha256 ${trusted.configSha256.slice(0, 12)}…).`];
    if (!trusted.configExists) lines.push(`It has no ${trusted.configFile}; adding one will need trust again.`);
    else if (trusted.settings.length === 0) lines.push(`${trusted.configFile} chooses no key destinations.`);
    else {
      lines.push(`${trusted.configFile} may now choose where your keys go:`);
      for (const s of trusted.settings) lines.push(`  ${s.key} = ${JSON.stringify(s.value)}`);
    }
    lines.push('Any edit of the file needs `ai-dev-bot trust` again.');
    return lines.join('\n');
  });
}
