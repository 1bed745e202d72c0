/**
 * Whether a process with this pid exists on this machine (EPERM: it exists but belongs to someone
 * else). With `group`, whether any process of the group `pid` leads is left (a detached child's
 * own children outlive it).
 */
export function processAlive(pid: number, options: { group?: boolean } = {}): boolean {
  try {
    process.kill(options.group ? -pid : pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
