/** The loop of `storage-list --watch`: one list and watch of the namespace's pools, redrawn on change. */
import type { KadaluStorage } from "../../core/pool/types.js";
import { poolsPath } from "../../core/kube-vocabulary.js";
import type { Kube } from "../../kube/client.js";
import { Informer } from "../../kube/informer.js";
import type { Deps } from "../deps.js";
import type { GlobalOptions } from "../flags.js";
import { frame, untilInterrupted } from "../watch.js";
import { changeLine, visible, watchTable } from "./watch-view.js";

const REDRAW_MS = 100;

export async function watchPools(kube: Kube, options: { global: GlobalOptions; name?: string }, deps: Deps): Promise<void> {
  const { io } = deps;
  const namespace = options.global.namespace;
  const interrupt = untilInterrupted();
  const seen = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  const pools = (): KadaluStorage[] => [...informer.cache.values()].filter((pool) => !options.name || pool.metadata.name === options.name);
  const redraw = (): void => {
    timer = undefined;
    io.out.write(
      frame(
        `kadalu storage-list --watch - ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} (Ctrl-C ends)\n\n${pools().length ? watchTable(pools()) : `No storage pools in namespace "${namespace}" yet.\n`}`,
        true,
      ),
    );
  };
  const informer: Informer<KadaluStorage> = new Informer<KadaluStorage>(kube, {
    path: poolsPath(namespace),
    log: (message) => io.err.write(`${io.color.yellow("warning:")} ${message}\n`),
    onChange: (key, pool) => {
      const name = key.split("/")[1]!;
      if (options.name && name !== options.name) return;
      const now = visible(pool);
      if (seen.get(name) === now) return;
      seen.set(name, now);
      if (io.terminal) timer ??= setTimeout(redraw, REDRAW_MS);
      else io.out.write(changeLine(new Date().toISOString().replace(/\.\d+Z$/, "Z"), name, pool));
    },
  });
  try {
    informer.start();
    await Promise.race([informer.hasSynced, interrupt.asked]);
    if (io.terminal && !interrupt.requested) redraw();
    else if (!interrupt.requested && pools().length === 0) io.err.write(`No storage pools in namespace "${namespace}" yet; waiting for changes.\n`);
    await interrupt.asked;
  } finally {
    clearTimeout(timer);
    informer.stop();
    interrupt.dispose();
  }
}
