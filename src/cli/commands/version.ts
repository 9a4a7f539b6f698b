/** `version`: the plugin's, the running components' (from pod images and env, no exec) and the cluster's. */
import { Command } from "commander";
import { AlreadyReported } from "../../core/errors.js";
import { EXIT_RUNTIME } from "../../core/exit-codes.js";
import { KADALU_PODS_SELECTOR } from "../../core/kube-vocabulary.js";
import { PLUGIN_VERSION } from "../../core/version.js";
import type { Pod } from "../../kube/client.js";
import type { Deps } from "../deps.js";
import { addOutputFlag, type GlobalOptions } from "../flags.js";
import { formatObject, type ObjectFormat } from "../io.js";
import { renderTable } from "../table.js";

interface ComponentVersion {
  pod: string;
  component: string;
  version: string;
  phase: string;
}

/** The plugin's own line, printed by `version` and by `--version`. */
export const CLIENT_VERSION_LINE = `kubectl-kadalu plugin: ${PLUGIN_VERSION}\n`;

const KADALU_CONTAINERS = ["kadalu-operator", "kadalu-provisioner", "kadalu-nodeplugin", "server"];

// eslint-disable-next-line complexity -- straight-line: the count is optional chains over a Pod's optional fields
export function componentVersion(pod: Pod): ComponentVersion {
  const container = pod.spec?.containers?.find((c) => KADALU_CONTAINERS.includes(c.name)) ?? pod.spec?.containers?.[0];
  const fromEnv = container?.env?.find((e) => e.name === "KADALU_VERSION")?.value;
  const fromImage = container?.image?.includes(":") ? container.image.split(":").pop() : undefined;
  return {
    pod: pod.metadata?.name ?? "?",
    component:
      pod.metadata?.labels?.["app.kubernetes.io/component"] === "csi-driver"
        ? (pod.metadata?.labels?.["app.kubernetes.io/name"] ?? "csi-driver")
        : (pod.metadata?.labels?.["app.kubernetes.io/component"] ?? "unknown"),
    version: fromEnv ?? fromImage ?? "unknown",
    phase: pod.status?.phase ?? "Unknown",
  };
}

export async function run(options: { global: GlobalOptions; output?: ObjectFormat }, deps: Deps): Promise<void> {
  const { io } = deps;
  const namespace = options.global.namespace;
  let components: ComponentVersion[] = [];
  let kubernetes: string | undefined;
  let failure: string | undefined;
  try {
    const kube = await deps.connect(options.global);
    const [pods, server] = await Promise.all([kube.listPods(namespace, KADALU_PODS_SELECTOR), kube.serverVersion()]);
    components = pods.map(componentVersion).filter((c) => c.component !== "server");
    kubernetes = server.gitVersion;
  } catch (error) {
    failure = (error as Error).message;
  }
  const operator = components.find((c) => c.component === "operator");
  const warnings =
    operator && operator.version !== PLUGIN_VERSION
      ? [`the operator runs ${operator.version} and this plugin is ${PLUGIN_VERSION}; align them with: kubectl kadalu install --upgrade`]
      : [];
  if (options.output) {
    io.out.write(
      formatObject(
        { plugin: PLUGIN_VERSION, kubernetes: kubernetes ?? null, namespace, components, warnings, ...(failure ? { error: failure } : {}) },
        options.output,
      ),
    );
  } else {
    io.out.write(CLIENT_VERSION_LINE);
    if (kubernetes) io.out.write(`Kubernetes: ${kubernetes}\n`);
    if (components.length > 0)
      io.out.write(
        renderTable(
          ["Component", "Pod", "Version", "Phase"],
          components.map((c) => [c.component, c.pod, c.version, c.phase]),
        ),
      );
    else if (!failure) io.out.write(`no Kadalu pods in namespace "${namespace}" (install with: kubectl kadalu install)\n`);
    for (const warning of warnings) io.err.write(`${io.color.yellow("warning:")} ${warning}\n`);
  }
  if (failure) {
    if (!options.output) io.err.write(`${io.color.red("error:")} ${failure}\n`);
    throw new AlreadyReported(EXIT_RUNTIME);
  }
}

export function versionCommand(deps: Deps): Command {
  const command = new Command("version").description("Show the plugin's version and the versions of the running Kadalu components");
  return addOutputFlag(command, ["json", "yaml"]).action(async (_opts: unknown, cmd: Command) => {
    const raw = cmd.optsWithGlobals<GlobalOptions & { output?: ObjectFormat }>();
    await run({ global: raw, output: raw.output }, deps);
  });
}
