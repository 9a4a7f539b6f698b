/** `install`: server-side applies the embedded, versioned manifests in dependency order, then waits until ready. */
import { Command, InvalidArgumentError, Option } from "commander";
import { toPortableYaml } from "../../core/yaml.js";
import { ClusterError, UsageError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import { INSTALL_HASH_ANNOTATION, OPERATOR_DEPLOYMENT } from "../../core/manifests/common.js";
import { MONITORING_API } from "../../core/manifests/monitoring.js";
import { installPlan, planObjects, type Step } from "../../core/manifests/index.js";
import type { KubeObject } from "../../core/kube-vocabulary.js";
import { PLATFORMS, PULL_POLICIES, resolveInstallOptions, SERVER_IMAGES, type InstallOptions } from "../../core/manifests/options.js";
import { PLUGIN_VERSION } from "../../core/version.js";
import type { Kube } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { OBJECT_FORMATS, type IOStreams } from "../io.js";
import { addDryRunFlag, addOutputFlag, collect, dryRunOf, type DryRun, type GlobalOptions } from "../flags.js";
import { applyGroups, resourceRef, type Applied } from "../install/apply.js";
import { eventRenderer } from "../install/events.js";
import { readManifestFile } from "../install/local-files.js";
import { waitReady } from "../install/readiness.js";
import { servesSnapshotContents, snapshotSupport } from "../install/snapshot-support.js";
import { removeLeftovers, rollBricks, survey } from "../install/switch-over.js";
import { renderPreflight, UNSAFE_KINDS, type UnsafeKind } from "../../core/upgrade/switch-over.js";

interface RawOptions extends GlobalOptions {
  type?: string;
  kubeletDir?: string;
  imageRegistry?: string;
  imageRepository?: string;
  imageTag?: string;
  serverImage?: string;
  serverImageTag?: string;
  imagePullPolicy?: string;
  imagePullSecret?: string[];
  localYaml?: string;
  localCsiYaml?: string;
  output?: "yaml" | "json";
  dryRun?: boolean;
  dryRunStrategy?: DryRun;
  wait?: boolean;
  timeout: string;
  upgrade?: boolean;
  allowUnsafe?: UnsafeKind[];
  serviceMonitor?: boolean;
  snapshotController?: boolean;
}

export interface InstallCommandOptions {
  global: GlobalOptions;
  install: InstallOptions;
  /** Objects from --local-yaml/--local-csi-yaml, replacing the embedded plan. */
  local?: KubeObject[];
  output?: "yaml" | "json";
  dryRun: DryRun;
  wait?: boolean;
  timeoutMs: number;
  upgrade: boolean;
  /** What the switch-over preflight may find unsafe and go on anyway. */
  allowUnsafe: Set<UnsafeKind>;
}

export function complete(raw: RawOptions): InstallCommandOptions {
  const install = resolveInstallOptions({
    namespace: raw.namespace,
    version: PLUGIN_VERSION,
    platform: raw.type,
    kubeletDir: raw.kubeletDir,
    imageRegistry: raw.imageRegistry,
    imageRepository: raw.imageRepository,
    imageTag: raw.imageTag,
    serverImage: raw.serverImage,
    serverImageTag: raw.serverImageTag,
    imagePullPolicy: raw.imagePullPolicy,
    imagePullSecrets: raw.imagePullSecret,
    verbose: raw.verbose,
    serviceMonitor: raw.serviceMonitor,
    snapshotController: raw.snapshotController,
  });
  if (raw.output && dryRunOf(raw) === "server")
    throw new UsageError("-o prints the manifests without a cluster and --dry-run=server sends them to one: give one of them");
  const local = [
    ...(raw.localYaml ? readManifestFile("--local-yaml", raw.localYaml) : []),
    ...(raw.localCsiYaml ? readManifestFile("--local-csi-yaml", raw.localCsiYaml) : []),
  ];
  return {
    global: raw,
    install,
    local: local.length > 0 ? local : undefined,
    output: raw.output,
    dryRun: dryRunOf(raw),
    wait: raw.wait,
    timeoutMs: parseDuration("--timeout", raw.timeout),
    upgrade: Boolean(raw.upgrade),
    allowUnsafe: new Set(raw.allowUnsafe ?? []),
  };
}

export function renderObjects(objects: KubeObject[], format: "yaml" | "json"): string {
  if (format === "json") return `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)}\n`;
  return objects.map((object) => toPortableYaml(object)).join("---\n");
}

/** Groups to apply: the plan's steps, or the local files' objects one at a time in file order. */
function groupsOf(options: InstallCommandOptions, steps: Step[]): KubeObject[][] {
  return options.local ? options.local.map((object) => [object]) : steps.map((step) => step.objects);
}

type Decision = { action: "apply"; upgradeFrom?: string; replaceOperator?: KubeObject } | { action: "up-to-date"; version: string };

function versionOf(deployment: KubeObject): string {
  const labels = (deployment.metadata as { labels?: Record<string, string> }).labels ?? {};
  const image = ((deployment as any).spec?.template?.spec?.containers?.[0]?.image as string | undefined) ?? "";
  return labels["app.kubernetes.io/version"] ?? image.split(":").pop() ?? "unknown";
}

/** The version the operator Deployment now runs, as the apply answered it: its label, and its image tag where that differs. */
function appliedVersion(applied: Applied[], local: boolean): string {
  const operator = applied.find((a) => a.object.kind === "Deployment" && a.object.metadata.name === OPERATOR_DEPLOYMENT)?.object;
  const from = local ? " (from local manifests)" : "";
  if (!operator) return from.trim();
  const version = versionOf(operator);
  const tag = /:([^/:]+)$/.exec(((operator as any).spec?.template?.spec?.containers?.[0]?.image as string | undefined) ?? "")?.[1];
  return `${version}${tag && tag !== version ? ` (images tagged ${tag})` : ""}${from}`;
}

/** "16 objects: 2 configured, 14 unchanged". */
function tally(applied: Applied[]): string {
  const counts = (["created", "configured", "unchanged", "serverside-applied"] as const)
    .map((outcome) => [outcome, applied.filter((a) => a.outcome === outcome).length] as const)
    .filter(([, count]) => count > 0);
  return `${applied.length} objects${counts.length ? `: ${counts.map(([outcome, count]) => `${count} ${outcome}`).join(", ")}` : ""}`;
}

/** One read decides: same version and plan hash -> nothing to do; another version -> only with --upgrade. */
async function decide(kube: Kube, options: InstallCommandOptions, steps: Step[]): Promise<Decision> {
  if (options.local) return { action: "apply" };
  const live = await kube.getObject("apps/v1", "Deployment", OPERATOR_DEPLOYMENT, options.install.namespace);
  if (!live) return { action: "apply" };
  const installed = versionOf(live);
  const wanted = steps.find((step) => step.name === "operator")!.objects[0]!.metadata.annotations?.[INSTALL_HASH_ANNOTATION];
  const hash = (live.metadata as { annotations?: Record<string, string> }).annotations?.[INSTALL_HASH_ANNOTATION];
  if (installed === options.install.version && hash === wanted) return { action: "up-to-date", version: installed };
  if (installed !== options.install.version && !options.upgrade) {
    throw new ClusterError(
      `Kadalu ${installed} is installed in namespace "${options.install.namespace}" and this plugin is ${options.install.version}; run again with --upgrade to move to ${options.install.version}`,
    );
  }
  const liveSelector = JSON.stringify((live as any).spec?.selector ?? {});
  const ourSelector = JSON.stringify((steps.find((step) => step.name === "operator")!.objects[0] as any).spec.selector);
  // A Deployment's selector cannot change (upstream's operator used `name: kadalu`): it is replaced, after the preflight.
  return {
    action: "apply",
    upgradeFrom: installed !== options.install.version ? installed : undefined,
    replaceOperator: liveSelector !== ourSelector ? live : undefined,
  };
}

/** As `kubectl apply --dry-run=client`: what each object would become, from reads alone. */
async function clientDryRun(kube: Kube, options: InstallCommandOptions, steps: Step[], io: IOStreams): Promise<void> {
  const decision = await decide(kube, options, steps);
  if (decision.action === "up-to-date") {
    io.out.write(`Kadalu ${decision.version} is already installed in namespace "${options.install.namespace}"; install would change nothing\n`);
  } else {
    const objects = groupsOf(options, steps).flat();
    const live = await Promise.all(objects.map((object) => kube.getObject(object.apiVersion, object.kind, object.metadata.name, object.metadata.namespace)));
    io.out.write(objects.map((object, index) => `${resourceRef(object)} ${live[index] ? "configured" : "created"} (dry run)\n`).join(""));
  }
  io.err.write("dry run: nothing was sent to the cluster\n");
}

/**
 * The preflight of a switch-over from another version: printed, and refused while something is unsafe
 * that --allow-unsafe does not name.
 */
async function switchOverPreflight(kube: Kube, options: InstallCommandOptions, from: string, deps: Deps) {
  const found = await survey(kube, options.install.namespace, from, options.install.version);
  deps.io.out.write(renderPreflight(found.report));
  const blocking = found.report.unsafe.filter((finding) => !options.allowUnsafe.has(finding.kind));
  if (blocking.length > 0) {
    const kinds = [...new Set(blocking.map((finding) => finding.kind))];
    throw new ClusterError(
      `not switching over while ${blocking.map((finding) => finding.message).join("; ")}; wait or fix it (kubectl kadalu healinfo, kubectl -n ${options.install.namespace} get pods), or run again with ${kinds.map((kind) => `--allow-unsafe ${kind}`).join(" ")}`,
    );
  }
  return found;
}

/** --service-monitor needs the Prometheus Operator's kinds: said before anything is applied. */
async function requireMonitoringKinds(kube: Kube): Promise<void> {
  for (const kind of ["ServiceMonitor", "PodMonitor", "PrometheusRule"]) {
    try {
      await kube.resourceOf(MONITORING_API, kind);
    } catch {
      throw new ClusterError(
        `the cluster has no ${kind} kind (${MONITORING_API}): install the Prometheus Operator (its CRDs) first, or install without --service-monitor (the operator and provisioner pods carry prometheus.io/scrape annotations for Prometheus' pod discovery)`,
      );
    }
  }
}

/**
 * The snapshot parts as the cluster allows: the csi-snapshotter sidecar only where the snapshot CRDs are
 * served (without them it would log list errors for ever and serve nothing), or where this install adds
 * them; --snapshot-controller never takes over another's CRDs nor starts a second controller.
 */
async function withSnapshots(kube: Kube, install: InstallOptions, io: IOStreams): Promise<InstallOptions> {
  if (!install.snapshotController) return { ...install, snapshotter: await servesSnapshotContents(kube) };
  const found = await snapshotSupport(kube, install.namespace);
  const crds = install.snapshotCrds && (found.crds === "none" || found.crds === "ours");
  const controller = install.snapshotController && (found.controllers.length === 0 || found.ownController);
  if (install.snapshotCrds && !crds)
    io.err.write(
      `snapshot CRDs: the cluster has ${found.crds === "partial" ? `only some (missing ${found.missingCrds.join(", ")})` : "them from another installer"}; leaving them as they are\n`,
    );
  if (install.snapshotController && !controller)
    io.err.write(`snapshot-controller: ${found.controllers.join(", ")} already runs one; not installing a second\n`);
  const served = found.crds === "ours" || found.crds === "theirs";
  return { ...install, snapshotCrds: crds, snapshotController: controller, snapshotter: install.snapshotter || crds || served };
}

export async function run(options: InstallCommandOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  if (options.output) {
    io.out.write(renderObjects(options.local ?? planObjects(installPlan(options.install)), options.output));
    if (options.dryRun === "client") io.err.write("dry run: nothing was sent to the cluster\n");
    return;
  }
  const kube = await deps.connect(options.global);
  const steps = installPlan(options.local ? options.install : await withSnapshots(kube, options.install, io));
  if (options.dryRun === "client") return clientDryRun(kube, options, steps, io);
  if (options.install.serviceMonitor) await requireMonitoringKinds(kube);
  const decision = await decide(kube, options, steps);
  const switchOver = decision.action === "apply" && decision.upgradeFrom ? await switchOverPreflight(kube, options, decision.upgradeFrom, deps) : undefined;
  const renderer = eventRenderer(io);
  try {
    if (decision.action === "apply" && decision.replaceOperator && options.dryRun === "none") await kube.deleteObject(decision.replaceOperator);
    if (decision.action === "up-to-date") {
      io.out.write(`Kadalu is already installed (version ${decision.version}) in namespace "${options.install.namespace}"; nothing to change\n`);
    } else {
      const applied = await applyGroups(kube, groupsOf(options, steps), { dryRun: options.dryRun === "server", sink: renderer.sink });
      if (options.dryRun === "server") {
        io.out.write(`server dry run: ${applied.length} objects accepted by the API server, nothing persisted\n`);
        return;
      }
      io.out.write(`Kadalu ${appliedVersion(applied, Boolean(options.local))} applied in namespace "${options.install.namespace}" (${tally(applied)})\n`);
    }
    if (switchOver) {
      await removeLeftovers(kube, switchOver.leftovers, renderer.sink);
      io.out.write(`${await rollBricks(kube, options.install.namespace, switchOver.pools, options.timeoutMs, renderer.sink)}\n`);
    }
    if (options.wait ?? io.interactive) {
      await waitReady(kube, options.install.namespace, options.timeoutMs, renderer.sink);
      io.out.write("Kadalu is ready\n");
    }
  } finally {
    renderer.close();
  }
}

function collectChoice(value: string, previous: UnsafeKind[] | undefined): UnsafeKind[] {
  if (!UNSAFE_KINDS.includes(value as UnsafeKind)) throw new InvalidArgumentError(`Allowed choices are ${UNSAFE_KINDS.join(", ")}.`);
  return [...(previous ?? []), value as UnsafeKind];
}

export function installCommand(deps: Deps): Command {
  const command = new Command("install")
    .description("Install (or upgrade) the Kadalu operator and CSI driver from manifests shipped in this plugin")
    .addOption(new Option("--type <platform>", "the Kubernetes distribution").choices(PLATFORMS).default("kubernetes"))
    .option("--kubelet-dir <dir>", "the kubelet's root directory (default /var/lib/kubelet; microk8s: its snap path)")
    .option(
      "--image-registry <registry>",
      "registry of every image, e.g. a mirror (default: ghcr.io for the operator and CSI images, docker.io for upstream's kadalu-server, registry.k8s.io for the CSI sidecars)",
    )
    .option("--image-repository <path>", "repository path of the operator and CSI images in the registry (default kubectl-kadalu)")
    .option("--image-tag <tag>", "tag of the operator and CSI images (default: the plugin's version)")
    .addOption(
      new Option(
        "--server-image <which>",
        "the image that runs the bricks: this project's kadalu-server (Debian's GlusterFS 11.1, PV sizes enforced) or upstream's",
      ).choices(SERVER_IMAGES),
    )
    .option("--server-image-tag <tag>", "tag of upstream's kadalu-server image (selects --server-image upstream)")
    .addOption(new Option("--image-pull-policy <policy>", "image pull policy").choices(PULL_POLICIES).default("IfNotPresent"))
    .option("--image-pull-secret <name>", "an image pull secret in the namespace; repeatable", collect)
    .option("--local-yaml <file>", "apply this operator manifest instead of the embedded one (upstream flag)")
    .option("--local-csi-yaml <file>", "also apply this CSI manifest (upstream flag)");
  addOutputFlag(command, OBJECT_FORMATS, "print the manifests, no cluster needed")
    .option(
      "--snapshot-controller",
      "also install the VolumeSnapshot CRDs and a snapshot-controller where the cluster has none (the csi-snapshotter sidecar runs whenever the CRDs exist)",
    )
    .option(
      "--service-monitor",
      "also create metrics Services, a ServiceMonitor, a PodMonitor for the brick pods and the alert rules (PrometheusRule) for the Prometheus Operator",
    )
    .option(
      "--upgrade",
      "allow replacing an installed Kadalu of another version (upstream 1.x too): prints a preflight, then restarts brick pods one at a time per replica group, each after heals are done",
    )
    .addOption(
      new Option(
        "--allow-unsafe <what>",
        "with --upgrade: go on although the preflight finds this unsafe (pending-heals, unready-bricks); repeatable",
      ).argParser(collectChoice),
    )
    .option("--wait", "wait until every component is ready (default on a terminal)")
    .option("--no-wait", "do not wait")
    .option("--timeout <duration>", "how long --wait waits", "5m");
  addDryRunFlag(command);
  command.addHelpText(
    "after",
    `
Examples:
  kubectl kadalu install
  kubectl kadalu install --type microk8s --wait
  kubectl kadalu install -o yaml > kadalu.yaml        # offline, for review or GitOps
  kubectl kadalu install --image-registry mirror.example.com --image-pull-secret regcred
  kubectl kadalu install --snapshot-controller        # VolumeSnapshots on a cluster without the CRDs
  kubectl kadalu install --upgrade                    # also from upstream Kadalu 1.x: preflight first
  kubectl kadalu install --upgrade --allow-unsafe pending-heals`,
  );
  return command.action(async (_opts: unknown, cmd: Command) => {
    await run(complete(cmd.optsWithGlobals<RawOptions>()), deps);
  });
}
