// One way to install a Debian package for the test setup: as root, non-interactive; `apt-get
// update` only when the first try fails (a fresh machine's package lists may be missing or stale).
import { execFileSync, spawnSync } from 'node:child_process';

export function aptInstall(pkg, why) {
  if (process.getuid?.() !== 0)
    throw new Error(`${pkg} is not installed and this is not root: run \`sudo apt-get install -y ${pkg}\` (${why}).`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { env, stdio: 'inherit' });
  if (install().status !== 0) {
    execFileSync('apt-get', ['update'], { env, stdio: 'inherit' });
    if (install().status !== 0) throw new Error(`apt-get install -y ${pkg} failed`);
  }
}
