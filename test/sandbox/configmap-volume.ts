/** What kubelet does for a ConfigMap volume: the ConfigMap's keys as files in a directory, kept in sync. */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ApiServer } from "../apiserver/server.js";

export function syncConfigMapVolume(server: ApiServer, namespace: string, name: string, dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const sync = (): void => {
    const data: Record<string, string> = server.get("v1", "ConfigMap", namespace, name)?.data ?? {};
    for (const [key, value] of Object.entries(data)) {
      const file = join(dir, key);
      if (!existsSync(file) || readFileSync(file, "utf8") !== value) writeFileSync(file, value);
    }
    for (const file of readdirSync(dir)) if (!(file in data)) rmSync(join(dir, file), { force: true });
  };
  sync();
  const timer = setInterval(sync, 50);
  return () => clearInterval(timer);
}
