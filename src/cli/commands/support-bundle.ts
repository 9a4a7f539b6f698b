/** `support-bundle`: one .tar.gz with doctor's report first, then what a maintainer asks for; its path on stdout. */
import { existsSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import { parseDuration } from "../../core/duration.js";
import { formatBytes } from "../../core/units.js";
import type { Deps } from "../deps.js";
import { collect, type GlobalOptions } from "../flags.js";
import { collectBundle } from "../doctor/support-bundle.js";
import { counted } from "../../core/words.js";

interface RawOptions extends GlobalOptions {
  dir: string;
  since?: string;
  maxLogBytes: string;
  redact?: string[];
}

export interface SupportBundleOptions {
  global: RawOptions;
  dir: string;
  sinceSeconds: number | undefined;
  maxLogBytes: number;
  redact: string[];
}

export function complete(raw: RawOptions): SupportBundleOptions {
  const dir = resolve(raw.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`-d ${raw.dir}: not a directory; give an existing directory to write the bundle into`);
  if (!/^\d{4,10}$/.test(raw.maxLogBytes)) throw new UsageError(`--max-log-bytes must be a number of bytes (at least 1000), not "${raw.maxLogBytes}"`);
  const since = raw.since === undefined ? undefined : Math.ceil(parseDuration("--since", raw.since) / 1000);
  return { global: raw, dir, sinceSeconds: since, maxLogBytes: Number(raw.maxLogBytes), redact: raw.redact ?? [] };
}

export async function run(options: SupportBundleOptions, deps: Deps): Promise<void> {
  const { io } = deps;
  const kube = await deps.connect(options.global);
  const bundle = await collectBundle(kube, {
    namespace: options.global.namespace,
    sinceSeconds: options.sinceSeconds,
    maxLogBytes: options.maxLogBytes,
    redact: options.redact,
    progress: (message) => io.err.write(`${message}\n`),
  });
  const path = join(options.dir, bundle.name);
  // Written whole, readable by its owner only (logs and specs can say more than one wants shared), then renamed into place.
  // node:crypto loaded here, not at start-up: it alone pulls in Node's streams, about a tenth of every command's start.
  const { randomBytes }: typeof import("node:crypto") = process.getBuiltinModule?.("node:crypto") ?? require("node:crypto");
  const partial = `${path}.${randomBytes(4).toString("hex")}.partial`;
  writeFileSync(partial, bundle.archive, { mode: 0o600, flag: "wx" });
  renameSync(partial, path);
  io.err.write(
    `${bundle.files} files, ${formatBytes(bundle.archive.length)}; doctor: ${bundle.findings.filter((f) => f.severity === "critical").length} critical, ${counted(bundle.findings.filter((f) => f.severity === "warning").length, "warning")}\n`,
  );
  io.out.write(`${path}\n`);
}

export function supportBundleCommand(deps: Deps): Command {
  return new Command("support-bundle")
    .description("Write a .tar.gz for a bug report: doctor's findings first, then Kadalu's objects, events, logs and pool usage (never Secrets)")
    .option("-d, --dir <dir>", "directory to write the archive into", ".")
    .option("--since <duration>", "only log lines newer than this (e.g. 1h)")
    .option("--max-log-bytes <bytes>", "at most this many bytes of each container's log (its newest)", String(1024 * 1024))
    .option("--redact <text>", "replace this text wherever it appears (host names, IPs); repeatable", collect)
    .addHelpText(
      "after",
      `
Examples:
  kubectl kadalu support-bundle
  kubectl kadalu support-bundle -d /tmp --since 2h --redact storage.example.com`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      await run(complete(cmd.optsWithGlobals<RawOptions>()), deps);
    });
}
