import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, REPO_CONFIG_FILE } from './config.js';
import { canonicalRepoPath, configDigest, trustRepo, type RepoSetting, type TrustedRepo } from './repoTrust.js';

export interface TrustResult extends TrustedRepo {
  configFile: string;
  configExists: boolean;
  /** The key-destination settings the trusted file now decides (not the providers' own URLs). */
  settings: RepoSetting[];
}

/**
 * `ai-dev-bot trust`: validates the repo's config file and records trust in exactly the content that
 * was validated (its hash), so a later edit needs trust again.
 */
export function trustRepository(repoRoot: string, env: NodeJS.ProcessEnv = process.env): TrustResult {
  const config = loadConfig({ repoRoot, env });
  const state = config.repoTrust;
  const entry = trustRepo(repoRoot, state?.configSha256 ?? configDigest([]), env);
  return {
    ...entry,
    path: canonicalRepoPath(repoRoot),
    configFile: path.join(repoRoot, REPO_CONFIG_FILE),
    configExists: existsSync(path.join(repoRoot, REPO_CONFIG_FILE)),
    settings: state?.settings ?? [],
  };
}
