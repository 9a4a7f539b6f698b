/** `logs`: the logs of every Kadalu pod (or one), each block headed by pod/container, through the API. */
import { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import type { Deps } from "../deps.js";
import { dns1123SubdomainError } from "../../core/naming.js";
import { KADALU_PODS_SELECTOR } from "../../core/kube-vocabulary.js";
import { intArg, type GlobalOptions } from "../flags.js";
import { refuseInSandbox } from "../sandbox.js";

interface RawOptions extends GlobalOptions {
  pod?: string;
  container?: string;
  tail?: number;
  since?: string;
  follow?: boolean;
  previous?: boolean;
}

/** The pod, from the POD argument (as `kubectl logs POD`) or --pod. */
function podOf(argument: string | undefined, raw: RawOptions): string | undefined {
  if (argument !== undefined && raw.pod !== undefined && argument !== raw.pod)
    throw new UsageError(`two pods given ("${argument}" and "${raw.pod}"); name one, as the POD argument or with --pod`);
  const pod = argument ?? raw.pod;
  const problem = pod === undefined || argument === undefined ? undefined : dns1123SubdomainError(pod);
  if (problem) throw new UsageError(`pod name "${pod}" ${problem}`);
  return pod;
}

export async function run(raw: RawOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  if (raw.container && !raw.pod) throw new UsageError("-c/--container needs a pod: kubectl kadalu logs POD -c CONTAINER");
  const sinceSeconds = raw.since ? Math.ceil(parseDuration("--since", raw.since) / 1000) : undefined;
  const namespace = raw.namespace;
  const kube = await deps.connect(raw);
  const pods = (await kube.listPods(namespace, KADALU_PODS_SELECTOR)).filter((pod) => !raw.pod || pod.metadata?.name === raw.pod);
  if (raw.pod && pods.length === 0)
    throw new UsageError(`pod "${raw.pod}" is not a Kadalu pod in namespace "${namespace}"; see: kubectl get pods -n ${namespace}`);
  const targets = pods.flatMap((pod) =>
    (pod.spec?.containers ?? []).filter((c) => !raw.container || c.name === raw.container).map((c) => ({ pod: pod.metadata!.name!, container: c.name })),
  );
  if (raw.container && targets.length === 0) throw new UsageError(`pod "${raw.pod}" has no container "${raw.container}"`);
  const query = { tailLines: raw.tail, sinceSeconds, previous: raw.previous };
  if (!raw.follow) {
    const texts: string[] = [];
    for (const target of targets) texts.push(await kube.readLog(namespace, target.pod, target.container, query));
    if (texts.every((text) => !text)) refuseInSandbox(kube, "logs", "reads the logs of Kadalu's containers");
    targets.forEach((target, index) => {
      const text = texts[index]!;
      io.out.write(`==> ${target.pod}/${target.container} <==\n${text}${text.endsWith("\n") || !text ? "" : "\n"}\n`);
    });
    return;
  }
  refuseInSandbox(kube, "logs --follow", "streams the logs of Kadalu's containers");
  await Promise.all(
    targets.map((target) =>
      kube.followLog(namespace, target.pod, target.container, query, (line) => io.out.write(`[${target.pod}/${target.container}] ${line}\n`)),
    ),
  );
}

export function logsCommand(deps: Deps): Command {
  return new Command("logs")
    .description("Show the logs of all Kadalu pods, or of one pod or container")
    .argument("[pod]", "only this pod (as in kubectl logs POD)")
    .option("--pod <pod>", "only this pod (the same as the POD argument)")
    .option("-c, --container <container>", "only this container (with a pod)")
    .option("--tail <lines>", "only the last N lines of each", intArg("--tail"))
    .option("--since <duration>", "only lines newer than this, e.g. 1h")
    .option("-f, --follow", "keep streaming new lines, prefixed by pod/container")
    .option("-p, --previous", "the logs of the previous, crashed container (as kubectl logs -p)")
    .addHelpText(
      "after",
      "\nExamples:\n  kubectl kadalu logs --tail 50\n  kubectl kadalu logs kadalu-csi-provisioner-0 -c kadalu-provisioner -f\n  kubectl kadalu logs kadalu-csi-provisioner-0 -c kadalu-provisioner -p",
    )
    .action(async (argument: string | undefined, _opts: unknown, cmd: Command) => {
      const raw = cmd.optsWithGlobals<RawOptions>();
      await run({ ...raw, pod: podOf(argument, raw) }, deps);
    });
}
