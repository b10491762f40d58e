// Other processes, as far as a lock or a temporary file needs to know them.

/** Whether a process of this pid runs (one of another user's counts: kill is refused, not failed). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
