/**
 * A child process for the crash tests: run from a given folder, its output collected, and
 * SIGKILLed at a moment the test picks. The moment is read from the child's own output
 * (`kill.when`, checked as output arrives: "it said it is ready", "it committed its third
 * step"), and the kill lands `kill.afterMs` after it, so a seeded test can aim anywhere from
 * right at that point to a little into the next write. A child still running after 60 s is
 * killed, so a hang fails the test instead of stalling it.
 */
import { spawn } from 'node:child_process';

/** How a child ended and everything it wrote. `signal` is `SIGKILL` when it was killed. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** When to SIGKILL the child: `afterMs` after `when` first holds of its stdout so far. */
export interface KillPlan {
  readonly when: (stdout: string) => boolean;
  readonly afterMs: number;
}

/** Runs `cmd args` in `cwd`; with `kill`, SIGKILLs it as planned. Rejects only if it cannot start. */
export function runKilledChild(cmd: string, args: readonly string[], cwd: string, kill?: KillPlan): Promise<ChildResult> {
  return new Promise((done, fail) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let armed = false;
    const guard = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (kill !== undefined && !armed && kill.when(stdout)) {
        armed = true;
        setTimeout(() => p.kill('SIGKILL'), kill.afterMs);
      }
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', fail);
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      done({ code, signal, stdout, stderr });
    });
  });
}
