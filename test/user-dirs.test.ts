import { describe, expect, it } from 'vitest';
import { userConfigPath } from '../src/core/config.js';
import { trustStorePath } from '../src/core/repoTrust.js';
import { userDir } from '../src/core/userDirs.js';
import { userCacheDir, userDataDir } from '../src/core/workspace.js';

/** The one XDG lookup behind the user config, trust store, ledger and cache paths. */
describe('userDir', () => {
  it('uses $XDG_<KIND>_HOME when absolute, else the XDG default under $HOME', () => {
    const env = { HOME: '/home/ada', XDG_CONFIG_HOME: '/etc/xdg-ada', XDG_CACHE_HOME: '/var/cache/ada' };
    expect(userDir('config', env)).toBe('/etc/xdg-ada/ai-dev-bot');
    expect(userDir('cache', env)).toBe('/var/cache/ada/ai-dev-bot');
    expect(userDir('data', env)).toBe('/home/ada/.local/share/ai-dev-bot');
    expect(userConfigPath(env)).toBe('/etc/xdg-ada/ai-dev-bot/config.json');
    expect(trustStorePath(env)).toBe('/etc/xdg-ada/ai-dev-bot/trusted-repos.json');
    expect(userCacheDir(env)).toBe('/var/cache/ada/ai-dev-bot');
  });

  it('ignores a relative XDG value (invalid by the spec); AI_DEV_BOT_HOME still wins for data', () => {
    const env = { HOME: '/home/ada', XDG_CONFIG_HOME: 'rel/config', XDG_DATA_HOME: './data' };
    expect(userDir('config', env)).toBe('/home/ada/.config/ai-dev-bot');
    expect(userDataDir(env)).toBe('/home/ada/.local/share/ai-dev-bot');
    expect(userDataDir({ ...env, AI_DEV_BOT_HOME: '/srv/aidb' })).toBe('/srv/aidb');
  });
});
