/** Follows a pool's status through a watch until a caller-defined end state, with progress and a deadline. */
import { ClusterError } from "../core/errors.js";
import { formatDuration } from "../core/duration.js";
import type { KadaluStorage } from "../core/pool/types.js";
import type { Kube, WatchEvent } from "../kube/client.js";
import type { IOStreams } from "./io.js";
import { startProgress, type Progress } from "./progress.js";

export type WaitVerdict = { done: true; line: string } | { done: false; waitingFor: string };

export interface WaitOptions {
  namespace: string;
  name: string;
  timeoutMs: number;
  /** Decides from the latest pool (undefined once it is gone) whether waiting is over; may look further. */
  judge: (pool: KadaluStorage | undefined) => WaitVerdict | Promise<WaitVerdict>;
  progress: Progress;
  /** Ends the wait early with the error it resolves to (Ctrl-C). */
  stop?: Promise<Error>;
}

export async function waitForPool(kube: Kube, options: WaitOptions): Promise<string> {
  const { namespace, name, judge, progress } = options;
  return new Promise<string>((resolve, reject) => {
    let stop: (() => void) | undefined;
    let finished = false;
    let lastWaitingFor = "";
    const finish = (error: Error | undefined, line?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      stop?.();
      if (error) reject(error);
      else resolve(line ?? "");
    };
    // Verdicts are reached one at a time, in the order the states arrived.
    let judging: Promise<void> = Promise.resolve();
    const consider = (pool: KadaluStorage | undefined): void => {
      judging = judging.then(async () => {
        if (finished) return;
        try {
          const verdict = await judge(pool);
          if (verdict.done) return finish(undefined, verdict.line);
          lastWaitingFor = verdict.waitingFor;
          progress.update(verdict.waitingFor);
        } catch (error) {
          finish(error as Error);
        }
      });
    };
    const timer = setTimeout(() => {
      finish(new ClusterError(`timed out after ${formatDuration(options.timeoutMs)} waiting for pool "${name}": ${lastWaitingFor}`));
    }, options.timeoutMs);
    // Level-based: read the current state, then watch from its resourceVersion; on any end, read again.
    const follow = async (): Promise<void> => {
      if (finished) return;
      try {
        const pool = await kube.getPool(namespace, name);
        consider(pool);
        if (finished) return;
        const onEvent = (event: WatchEvent<KadaluStorage>): void => consider(event.type === "DELETED" ? undefined : event.object);
        const onEnd = (): void => {
          if (!finished) setTimeout(() => void follow(), 200);
        };
        stop = await kube.watchPool(namespace, name, pool?.metadata.resourceVersion, onEvent, onEnd);
        // A verdict may have been reached while the watch was being opened: close it, or it keeps the process alive.
        if (finished) stop();
      } catch (error) {
        finish(error as Error);
      }
    };
    void options.stop?.then((error) => finish(error));
    void follow();
  });
}

/** waitForPool with a spinner (plain lines off a terminal) that ends on the outcome line, in green. */
export async function waitWithProgress(kube: Kube, io: IOStreams, start: string, options: Omit<WaitOptions, "progress">): Promise<void> {
  const progress = startProgress(io, start);
  try {
    progress.done(io.color.green(await waitForPool(kube, { ...options, progress })));
  } catch (error) {
    progress.done();
    throw error;
  }
}
