/**
 * What kubelet does for a ConfigMap volume: the ConfigMap's keys as files in a directory, kept in sync.
 * `read` fetches the current data (from the in-process test server, or over HTTP from a real apiserver);
 * undefined means the ConfigMap does not exist (the directory is then emptied).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type ConfigMapRead = () => Record<string, string> | undefined | Promise<Record<string, string> | undefined>;

export function syncConfigMapVolume(read: ConfigMapRead, dir: string, intervalMs = 50): () => Promise<void> {
  mkdirSync(dir, { recursive: true });
  const sync = async (): Promise<void> => {
    const data = (await read()) ?? {};
    for (const [key, value] of Object.entries(data)) {
      const file = join(dir, key);
      if (!existsSync(file) || readFileSync(file, "utf8") !== value) writeFileSync(file, value);
    }
    for (const file of readdirSync(dir)) if (!(file in data)) rmSync(join(dir, file), { force: true });
  };
  let running: Promise<void> = sync().catch(() => undefined);
  const timer = setInterval(() => {
    running = running.then(sync).catch(() => undefined);
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
