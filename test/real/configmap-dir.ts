/** What kubelet does for a ConfigMap volume, for a local process: the ConfigMap's keys as files, kept in sync. */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Api } from "./api.js";

export function syncConfigMapDir(api: Api, namespace: string, name: string, dir: string, intervalMs = 200): () => Promise<void> {
  mkdirSync(dir, { recursive: true });
  let running: Promise<void> = Promise.resolve();
  const sync = async (): Promise<void> => {
    const data: Record<string, string> = (await api.find(`/api/v1/namespaces/${namespace}/configmaps/${name}`))?.data ?? {};
    for (const [key, value] of Object.entries(data)) {
      const file = join(dir, key);
      if (!existsSync(file) || readFileSync(file, "utf8") !== value) writeFileSync(`${file}`, value);
    }
    for (const file of readdirSync(dir)) if (!(file in data)) rmSync(join(dir, file), { force: true });
  };
  const timer = setInterval(() => {
    running = running.then(sync).catch(() => undefined);
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
