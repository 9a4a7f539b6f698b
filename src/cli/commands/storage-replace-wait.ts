/**
 * `storage-replace --wait`: the replaced brick followed in three steps, each polled within one deadline:
 * its pod running on the new unit; the new brick marked for a full heal (Gluster's replace-brick, run by
 * the server image in that pod); the group's pending heal entries, shown as they fall, until none are left.
 */
import { ClusterError } from "../../core/errors.js";
import { formatDuration } from "../../core/duration.js";
import { brickHostName, serverPodName } from "../../core/naming.js";
import { entriesPerBrick, groupOf, podServesUnit, type BrickPodSpecView } from "../../core/pool/replace.js";
import type { KadaluStorage } from "../../core/pool/types.js";
import { isReady, type PodView } from "../../core/upgrade/switch-over.js";
import { counted } from "../../core/words.js";
import type { Kube } from "../../kube/client.js";
import type { IOStreams } from "../io.js";
import { HEAL_INFO } from "../pools/heals.js";
import { startProgress, type Progress } from "../progress.js";

/**
 * The server image's tools for a replaced brick: the full-heal mark (server/mark-replaced.ts), and the self-heal
 * daemon's index heal started now (server/heal-now.ts), as `gluster volume heal` would.
 */
export const MARK_REPLACED = ["node", "/kadalu/bin/kadalu-server", "mark-replaced"];
export const HEAL_NOW = ["node", "/kadalu/bin/kadalu-server", "heal-now"];
const POLL_MS = 2_000;

export interface FollowOptions {
  /** The pool as the patch returned it (its generation is the one the operator must reach). */
  pool: KadaluStorage;
  index: number;
  timeoutMs: number;
  stop?: Promise<Error>;
  pollMs?: number;
}

type Step = { done: true; line?: string } | { done: false; waitingFor: string };

/** Step 1: the operator saw the change, and the brick's pod runs the new unit, ready. */
async function brickOnNewUnit(kube: Kube, pool: KadaluStorage, index: number): Promise<Step> {
  const { name, namespace } = pool.metadata;
  const now = await kube.getPool(namespace!, name);
  if (!now) throw new ClusterError(`storage pool "${name}" was deleted while waiting for it`);
  if ((now.status?.observedGeneration ?? 0) < (pool.metadata.generation ?? 0))
    return { done: false, waitingFor: `waiting for the operator to take up the new storage unit of pool "${name}"` };
  if (now.status?.state === "error")
    throw new ClusterError(`storage pool "${name}" refused the replacement: ${now.status.message ?? `see kubectl describe kds ${name}`}`);
  const podName = serverPodName(name, index);
  const pod = (await kube.getObject("v1", "Pod", podName, namespace)) as (PodView & BrickPodSpecView) | undefined;
  const unit = pool.spec.storage[index]!;
  const brick = { kube_hostname: unit.node ?? "", host_brick_path: unit.path ?? "", brick_device: unit.device ?? "", pvc_name: unit.pvc ?? "" };
  if (!pod || !podServesUnit(pod, brick))
    return {
      done: false,
      waitingFor: `waiting for ${podName} to move to the new storage unit${now.status?.message && now.status.state !== "ready" ? ` (${now.status.message})` : ""}`,
    };
  if (!isReady(pod)) return { done: false, waitingFor: `${podName} runs on the new storage unit; waiting for it to be ready` };
  return { done: true, line: `${podName} is ready on the new storage unit` };
}

/** Step 2: Gluster's replace-brick mark, so the self-heal daemons copy everything to the empty brick. */
async function markForHeal(kube: Kube, pool: KadaluStorage, index: number): Promise<string> {
  const { name, namespace } = pool.metadata;
  const podName = serverPodName(name, index);
  const result = await kube
    .exec(namespace!, podName, "server", [...MARK_REPLACED, name, String(index)])
    .catch((error: Error) => ({ exitCode: -1, stdout: Buffer.from(""), stderr: Buffer.from(error.message) }));
  if (result.exitCode === 0) return "";
  return `the new brick could not be marked for a full heal (${result.stderr.toString().trim() || `exit ${result.exitCode}`}): the files written before the replacement are not copied to it until it is; see README.md#storage-replace`;
}

/**
 * Starts the index heal of the self-heal daemon in every pod of the group: each daemon heals only what its own
 * brick's index holds, and left alone it sweeps that index only every 10 minutes. A daemon's sweep that
 * healed something sweeps again; one that met another's locks stops, so the trigger is sent on every poll.
 * The first failure, if any, in a word.
 */
async function startHeal(kube: Kube, pool: KadaluStorage, start: number, end: number): Promise<string> {
  const { name, namespace } = pool.metadata;
  const pods = Array.from({ length: end - start }, (_, offset) => serverPodName(name, start + offset));
  const results = await Promise.all(
    pods.map((podName) =>
      kube
        .exec(namespace!, podName, "server", [...HEAL_NOW, name])
        .then((result) => ({ podName, exitCode: result.exitCode, stderr: result.stderr }))
        .catch((error: Error) => ({ podName, exitCode: -1, stderr: Buffer.from(error.message) })),
    ),
  );
  const failed = results.find((result) => result.exitCode !== 0);
  return failed ? ` (the self-heal daemon of ${failed.podName} could not be started: ${failed.stderr.toString().trim() || `exit ${failed.exitCode}`})` : "";
}

/** Step 3: the group's pending heal entries, from heal-info in the new brick's pod, the heal started again while some are pending. */
async function healed(kube: Kube, pool: KadaluStorage, index: number): Promise<Step> {
  const { name, namespace } = pool.metadata;
  const podName = serverPodName(name, index);
  const result = await kube.exec(namespace!, podName, "server", [HEAL_INFO, name]);
  if (result.exitCode !== 0) return { done: false, waitingFor: `${HEAL_INFO} in ${podName} failed (exit ${result.exitCode}); trying again` };
  const counts = entriesPerBrick(result.stdout.toString("utf8"));
  const { start, end } = groupOf(pool, index);
  let pending = 0;
  for (let brick = start; brick < end; brick += 1) {
    const count = counts.get(brickHostName(name, brick));
    if (count === undefined) return { done: false, waitingFor: `healing storage unit ${index + 1} of pool "${name}": brick ${brick + 1} is not connected yet` };
    pending += count;
  }
  if (pending > 0) {
    const failed = await startHeal(kube, pool, start, end);
    return { done: false, waitingFor: `healing storage unit ${index + 1} of pool "${name}": ${counted(pending, "entry", "entries")} pending${failed}` };
  }
  return { done: true, line: `storage unit ${index + 1} of pool "${name}" is healed: no entries pending in its group` };
}

async function poll(step: () => Promise<Step>, progress: Progress, deadline: number, what: string, options: FollowOptions): Promise<string | undefined> {
  let last = what;
  for (;;) {
    const verdict = await step();
    if (verdict.done) return verdict.line;
    if (verdict.waitingFor !== last) progress.update(verdict.waitingFor);
    last = verdict.waitingFor;
    const left = deadline - Date.now();
    if (left <= 0) throw new ClusterError(`timed out after ${formatDuration(options.timeoutMs)}: ${last}`);
    const stopped = await Promise.race([
      new Promise<undefined>((resolve) => setTimeout(resolve, Math.min(options.pollMs ?? POLL_MS, left))),
      options.stop ?? new Promise<never>(() => undefined),
    ]);
    if (stopped) throw stopped;
  }
}

export async function followReplacement(kube: Kube, io: IOStreams, options: FollowOptions): Promise<void> {
  const { pool, index } = options;
  const deadline = Date.now() + options.timeoutMs;
  const start = `waiting for storage unit ${index + 1} of pool "${pool.metadata.name}" to run on its new unit`;
  const progress = startProgress(io, start);
  try {
    const moved = await poll(() => brickOnNewUnit(kube, pool, index), progress, deadline, start, options);
    progress.update(moved ?? start);
    // Gluster's replace-brick mark is the replicate translator's; a disperse set rebuilds fragments as files are read.
    const note =
      pool.spec.type === "Disperse"
        ? `a disperse set rebuilds the new brick's fragments as files are used; to rebuild them all now run: kubectl kadalu healinfo ${pool.metadata.name} --trigger-full-heal`
        : await markForHeal(kube, pool, index);
    if (note) {
      progress.done(moved);
      io.err.write(`note: ${note}\n`);
      return;
    }
    const line = await poll(() => healed(kube, pool, index), progress, deadline, "", options);
    progress.done(io.color.green(line ?? ""));
  } catch (error) {
    progress.done();
    throw error;
  }
}
