/**
 * csi-sanity (kubernetes-csi/csi-test) over a driver's socket, read from its JSON report: what passed,
 * what failed (with the message), and every skipped spec with the reason csi-sanity gave.
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface SanityResult {
  passed: string[];
  failed: { spec: string; message: string }[];
  skipped: { spec: string; reason: string }[];
  pending: string[];
  output: string;
}

interface SpecReport {
  ContainerHierarchyTexts: string[] | null;
  LeafNodeText: string;
  LeafNodeType: string;
  State: string;
  Failure?: { Message?: string };
}

/** The kubelet directory to start a driver with, so that csi-sanity's targets lie under its pods/. */
export const sanityKubeletDir = (dir: string): string => join(dir, "kubelet");

export async function runSanity(binary: string, endpoint: string, dir: string, parameters: Record<string, string> = {}): Promise<SanityResult> {
  // csi-sanity makes its target and staging directories, not their parents; kubelet stages under plugins/kubernetes.io/csi.
  mkdirSync(join(sanityKubeletDir(dir), "pods", "sanity"), { recursive: true });
  mkdirSync(join(sanityKubeletDir(dir), "plugins", "kubernetes.io", "csi", "sanity"), { recursive: true });
  const params = join(dir, "parameters.yaml");
  writeFileSync(params, JSON.stringify(parameters));
  // VolumeSnapshotClass parameters: the driver accepts and ignores ones it does not know.
  const snapshotParams = join(dir, "snapshot-parameters.yaml");
  writeFileSync(snapshotParams, JSON.stringify({ "kadalu.io/sanity": "ignored" }));
  const report = join(dir, "report.json");
  let output = "";
  try {
    output = (
      await run(
        binary,
        [
          "--csi.endpoint",
          endpoint,
          "--csi.mountdir",
          join(sanityKubeletDir(dir), "pods", "sanity", "mount"),
          "--csi.stagingdir",
          join(sanityKubeletDir(dir), "plugins", "kubernetes.io", "csi", "sanity", "staging"),
          "--csi.testvolumeparameters",
          params,
          "--csi.testsnapshotparameters",
          snapshotParams,
          "--ginkgo.json-report",
          report,
          "--ginkgo.no-color",
          "--ginkgo.timeout",
          "8m",
        ],
        { timeout: 540_000, maxBuffer: 64 * 1024 * 1024 },
      )
    ).stdout;
  } catch (error) {
    output = `${(error as { stdout?: string }).stdout ?? ""}${(error as Error).message}`;
  }
  const specs = (JSON.parse(readFileSync(report, "utf8")) as { SpecReports: SpecReport[] }[])[0]!.SpecReports.filter((spec) => spec.LeafNodeType === "It");
  const name = (spec: SpecReport): string => [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText].join(" ");
  return {
    passed: specs.filter((s) => s.State === "passed").map(name),
    failed: specs
      .filter((s) => s.State !== "passed" && s.State !== "skipped" && s.State !== "pending")
      .map((s) => ({ spec: name(s), message: s.Failure?.Message ?? s.State })),
    skipped: specs.filter((s) => s.State === "skipped").map((s) => ({ spec: name(s), reason: s.Failure?.Message ?? "" })),
    pending: specs.filter((s) => s.State === "pending").map(name),
    output,
  };
}

/**
 * Why a skipped spec does not apply to Kadalu: csi-sanity skips what the driver does not advertise
 * (snapshots, clones and staging it serves, so their specs run; group snapshots and attach it does not).
 * An empty group controller service would turn one skip into a pass while offering nothing: not done.
 */
export const NOT_APPLICABLE: [RegExp, string][] = [
  [
    /GroupController/i,
    "no group snapshots: CSI asks a group snapshot to be write-order consistent across its volumes, and Kadalu's snapshots are copies made file by file (no group controller service)",
  ],
  [/Controller ?Publish|ControllerUnpublish|Unpublish/i, "no attach step: a Gluster subdirectory needs no ControllerPublish (CSIDriver attachRequired: false)"],
];

export function reasonNotApplicable(reason: string): string | undefined {
  return NOT_APPLICABLE.find(([pattern]) => pattern.test(reason))?.[1];
}
