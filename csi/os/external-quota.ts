/**
 * Directory quotas of External pools, set on the external Gluster cluster over SSH as upstream does:
 * when the provisioner has the optional `glusterquota-ssh-secret` (a private key at
 * /etc/secret-volume/ssh-privatekey and SECRET_GLUSTERQUOTA_SSH_USERNAME), each new PV directory gets
 * `sudo gluster volume quota <volume> limit-usage /<path> <95% of its size>`, and its volume
 * `quota-deem-statfs on` (so df in the PV shows its quota) once per process.
 *
 * Unlike upstream: an SSH client in the process (ssh2: no child process, one connection kept per host),
 * the host key checked against the secret's optional `ssh-known-hosts` (upstream turns checking off;
 * without that key this warns once and accepts, as upstream did), every name checked before it reaches
 * the remote shell and quoted, expansion raises the limit too, and every step has a deadline.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import type { Client, ClientChannel } from "ssh2";

export const SECRET_DIR = "/etc/secret-volume";
export const USERNAME_ENV = "SECRET_GLUSTERQUOTA_SSH_USERNAME";
/** Upstream leaves 5% of a PV's size out of its Gluster quota. */
export const QUOTA_SHARE = 0.95;

export interface SshQuotaConfig {
  username: string;
  privateKey: Buffer;
  /** OpenSSH known_hosts lines; absent: any host key is accepted (upstream's StrictHostKeyChecking=no). */
  knownHosts?: string;
  port: number;
}

/** The secret as upstream mounts it, or undefined when it is not there (the secret is optional). */
export function sshQuotaConfig(env: NodeJS.ProcessEnv, dir = SECRET_DIR, port = 22): SshQuotaConfig | undefined {
  const key = join(dir, "ssh-privatekey");
  const username = env[USERNAME_ENV];
  if (!username || !existsSync(key)) return undefined;
  const knownHosts = join(dir, "ssh-known-hosts");
  return { username, privateKey: readFileSync(key), knownHosts: existsSync(knownHosts) ? readFileSync(knownHosts, "utf8") : undefined, port };
}

const SAFE_VOLUME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SAFE_PATH = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;
const SAFE_HOST = /^[A-Za-z0-9.:-]+$/;

/** The remote command line; refuses anything but plain names (the remote side is a shell). */
export function limitUsageCommand(volume: string, path: string, sizeBytes: number): string {
  if (!SAFE_VOLUME.test(volume)) throw new Error(`Gluster volume name "${volume}" is not a plain name`);
  if (!SAFE_PATH.test(path) || path.split("/").some((part) => part === "." || part === ".."))
    throw new Error(`quota path "${path}" is not a plain relative path`);
  return `sudo gluster volume quota '${volume}' limit-usage '/${path}' ${Math.floor(sizeBytes * QUOTA_SHARE)}`;
}

export const deemStatfsCommand = (volume: string): string => {
  if (!SAFE_VOLUME.test(volume)) throw new Error(`Gluster volume name "${volume}" is not a plain name`);
  return `sudo gluster volume set '${volume}' quota-deem-statfs on`;
};

/** Whether `key` (the server's host key blob) is listed for `host` in known_hosts text (plain host patterns). */
export function knownHostKey(knownHosts: string, host: string, port: number, key: Buffer): boolean {
  const names = new Set([host, `[${host}]:${port}`]);
  const blob = key.toString("base64");
  return knownHosts.split("\n").some((line) => {
    const [hosts, , base64] = line.trim().split(/\s+/);
    if (!hosts || !base64 || hosts.startsWith("#") || hosts.startsWith("|")) return false;
    return hosts.split(",").some((pattern) => names.has(pattern)) && base64 === blob;
  });
}

const CONNECT_MS = 10_000;
const COMMAND_MS = 60_000;

export class GlusterQuotaOverSsh {
  private readonly connections = new Map<string, Promise<Client>>();
  private readonly deemed = new Set<string>();
  private warnedUnchecked = false;

  constructor(
    private readonly config: SshQuotaConfig,
    private readonly log: (message: string) => void,
  ) {}

  /** Sets the PV directory's quota on the first of `hosts` (comma-separated, as kadalu-info holds them) that answers. */
  async limitUsage(hosts: string, volume: string, path: string, sizeBytes: number): Promise<void> {
    const command = limitUsageCommand(volume, path, sizeBytes);
    await this.onFirstHost(hosts, async (client) => {
      if (!this.deemed.has(volume)) {
        await this.run(client, deemStatfsCommand(volume));
        this.deemed.add(volume);
      }
      await this.run(client, command);
    });
  }

  private async onFirstHost(hosts: string, work: (client: Client) => Promise<void>): Promise<void> {
    const problems: string[] = [];
    for (const host of hosts
      .split(",")
      .map((h) => h.trim())
      .filter(Boolean)) {
      if (!SAFE_HOST.test(host)) {
        problems.push(`${host}: not a host name`);
        continue;
      }
      let client: Client;
      try {
        client = await this.connection(host);
      } catch (error) {
        problems.push(`${host}: ${(error as Error).message}`);
        continue;
      }
      return work(client);
    }
    throw new Error(`no Gluster host of ${hosts} took the SSH connection for quota: ${problems.join("; ")}`);
  }

  private connection(host: string): Promise<Client> {
    let pending = this.connections.get(host);
    if (!pending) {
      pending = this.connect(host);
      this.connections.set(host, pending);
      pending.catch(() => this.connections.delete(host));
    }
    return pending;
  }

  private async connect(host: string): Promise<Client> {
    const { Client } = await import("ssh2");
    const client = new Client();
    return new Promise<Client>((resolve, reject) => {
      client.once("ready", () => resolve(client));
      // A failed connect is forgotten by connection(); one that closes later is forgotten here.
      client.once("error", reject);
      client.once("close", () => this.connections.delete(host));
      client.connect({
        host,
        port: this.config.port,
        username: this.config.username,
        privateKey: this.config.privateKey,
        readyTimeout: CONNECT_MS,
        keepaliveInterval: 15_000,
        hostVerifier: (key: Buffer) => {
          if (this.config.knownHosts !== undefined) return knownHostKey(this.config.knownHosts, host, this.config.port, key);
          if (!this.warnedUnchecked) {
            this.warnedUnchecked = true;
            this.log(
              `quota over SSH: the host key of ${host} (SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}) is not checked: add ssh-known-hosts to the glusterquota-ssh-secret`,
            );
          }
          return true;
        },
      });
    });
  }

  private run(client: Client, command: string): Promise<void> {
    return new Promise((resolve, reject) => {
      client.exec(command, (error: Error | undefined, channel: ClientChannel) => {
        if (error) return reject(error);
        let output = "";
        const timer = setTimeout(() => {
          channel.close();
          reject(new Error(`"${command}" gave no answer within ${COMMAND_MS / 1000} s`));
        }, COMMAND_MS);
        channel.on("data", (chunk: Buffer) => (output += chunk.toString()));
        channel.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        channel.on("close", (code: number | null) => {
          clearTimeout(timer);
          if (code === 0) resolve();
          else reject(new Error(`"${command}" failed (exit ${code ?? "?"}): ${output.trim().split("\n").slice(-2).join(" / ")}`));
        });
      });
    });
  }

  close(): void {
    for (const pending of this.connections.values())
      void pending.then(
        (client) => client.end(),
        () => undefined,
      );
    this.connections.clear();
  }
}
