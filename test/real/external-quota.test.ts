/**
 * External pools' quotas over SSH on real components: a real OpenSSH server in front of a real Gluster
 * cluster with directory quota enabled, the driver binary holding upstream's glusterquota-ssh-secret
 * (a private key, the user, and our optional ssh-known-hosts). The commands the driver sends are recorded
 * by the server's ForceCommand, which runs them as the remote shell would, with this glusterd's socket.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAttributeSync } from "@napi-rs/xattr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pvPath } from "../../src/core/pv-layout.js";
import { CallError, csiClient, type CsiClient } from "../../harness/helpers/csi-client.js";
import { which } from "../../harness/real/components.js";
import { BRICK_ADDRESS, Glusterd } from "../../harness/real/gluster.js";
import { BIN } from "../../harness/real/kadalu.js";
import { startContained, type Contained } from "../../harness/real/namespace.js";
import { Processes, waitUntil, type Started } from "../../harness/real/processes.js";
import { glusterfs, noGluster } from "../../harness/real/tier.js";

const MiB = 1024 ** 2;
const SSHD = which("sshd");
const noSsh =
  noGluster ?? (SSHD && which("ssh-keygen") && which("sudo") ? undefined : "OpenSSH's server or sudo is not installed (apt-get install openssh-server sudo)");
const CAPS = [{ mount: {}, access_mode: { mode: "MULTI_NODE_MULTI_WRITER" } }];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, BRICK_ADDRESS, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The hard limit Gluster's quota keeps on the brick's directory (the first 8 bytes of limit-set, big-endian). */
const hardLimit = (dir: string): bigint | undefined => getAttributeSync(dir, "trusted.glusterfs.quota.limit-set.1")?.readBigInt64BE(0);

describe.skipIf(noSsh)("External pools' quotas over SSH, on real OpenSSH and real Gluster", () => {
  let dir: string;
  let processes: Processes;
  let gluster: Glusterd;
  let brick: string;
  let sshd: Started;
  let port: number;
  const commands = (): string[] => readFileSync(join(dir, "commands.log"), "utf8").trim().split("\n");
  const drivers: { csi: Contained; client: CsiClient }[] = [];

  /** The driver (role provisioner) with the secret in `secret`, on pool ext1. */
  async function startDriver(name: string, secret: string): Promise<CsiClient> {
    const socket = join(dir, `${name}.sock`);
    const csi = startContained(
      processes,
      name,
      dir,
      {},
      process.execPath,
      [
        BIN.csi,
        "--endpoint",
        `unix://${socket}`,
        "--role",
        "provisioner",
        "--node-id",
        "kube1",
        "--info-dir",
        join(dir, "info"),
        "--quota-secret-dir",
        secret,
        "--quota-ssh-port",
        String(port),
      ],
      { ...process.env, SECRET_GLUSTERQUOTA_SSH_USERNAME: "root" },
    );
    await waitUntil(`${name} to serve\n${csi.process.tail()}`, () => csi.process.tail(100).includes("serving on") || undefined, 30_000);
    const client = csiClient(`unix://${socket}`);
    drivers.push({ csi, client });
    return client;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "kadalu-ssh-quota-"));
    processes = new Processes(dir);
    gluster = await Glusterd.start(glusterfs!, join(dir, "gluster"));
    brick = (await gluster.createVolume("ext1", 1, 1))[0]!;
    await gluster.cli(["volume", "quota", "ext1", "enable"]);
    mkdirSync(join(dir, "info"));
    writeFileSync(
      join(dir, "info", "ext1.info"),
      JSON.stringify({
        volname: "ext1",
        volume_id: "5f0c1a8e-9c55-4a38-a6a4-1d6f5f0e1a02",
        type: "External",
        pvReclaimPolicy: "delete",
        single_pv_per_pool: false,
        gluster_hosts: BRICK_ADDRESS,
        gluster_volname: "ext1",
        gluster_options: "",
      }),
    );
    // The server: its own host key, our client key authorised for root, every command through the recorder.
    for (const key of ["host", "client"]) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", key, "-f", join(dir, key)]);
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client.pub")));
    const recorder = join(dir, "remote-shell.sh");
    writeFileSync(
      recorder,
      [
        "#!/bin/sh",
        `printf '%s\\n' "$SSH_ORIGINAL_COMMAND" >> '${join(dir, "commands.log")}'`,
        'case "$SSH_ORIGINAL_COMMAND" in "sudo gluster "*) ;; *) echo "not a gluster command" >&2; exit 126;; esac',
        // What the remote shell would run, with this glusterd's socket in place of the machine's default.
        `exec sh -c "sudo gluster --glusterd-sock='${gluster.socket}' \${SSH_ORIGINAL_COMMAND#sudo gluster }"`,
        "",
      ].join("\n"),
    );
    chmodSync(recorder, 0o755);
    port = await freePort();
    writeFileSync(
      join(dir, "sshd_config"),
      [
        `Port ${port}`,
        `ListenAddress ${BRICK_ADDRESS}`,
        `HostKey ${join(dir, "host")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PidFile none",
        `ForceCommand ${recorder}`,
        "",
      ].join("\n"),
    );
    mkdirSync("/run/sshd", { recursive: true }); // privilege separation directory, as the package's service makes it
    sshd = processes.start("sshd", SSHD!, ["-D", "-e", "-f", join(dir, "sshd_config")]);
    await waitUntil(`sshd to listen\n${sshd.tail()}`, () => sshd.tail(20).includes("Server listening") || undefined, 10_000);
    // Upstream's secret, plus the known host key; and a copy whose known host key is another's.
    const hostKey = readFileSync(join(dir, "host.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    for (const [name, known] of [
      ["secret", hostKey],
      ["wrong-secret", readFileSync(join(dir, "client.pub"), "utf8").split(" ").slice(0, 2).join(" ")],
    ] as const) {
      mkdirSync(join(dir, name), { mode: 0o700 });
      writeFileSync(join(dir, name, "ssh-privatekey"), readFileSync(join(dir, "client")), { mode: 0o400 });
      writeFileSync(join(dir, name, "ssh-known-hosts"), `[${BRICK_ADDRESS}]:${port} ${known}\n`);
    }
  });

  afterAll(async () => {
    for (const { client } of drivers) client.close();
    await processes?.stopAll();
    await gluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sets each new PV's quota (95% of its size) and the volume's quota-deem-statfs, raises it on expansion", async () => {
    const client = await startDriver("csi", join(dir, "secret"));
    await client.controller("CreateVolume", {
      name: "pvc-ext",
      capacity_range: { required_bytes: 100 * MiB },
      volume_capabilities: CAPS,
      parameters: { hostvol_type: "External", gluster_volname: "ext1" },
    });
    const path = pvPath("subvol", "pvc-ext");
    expect(hardLimit(join(brick!, path))).toBe(BigInt(Math.floor(100 * MiB * 0.95)));
    expect(await gluster.cli(["volume", "get", "ext1", "features.quota-deem-statfs"])).toMatch(/features\.quota-deem-statfs\s+on/);
    await client.controller("ControllerExpandVolume", { volume_id: "pvc-ext", capacity_range: { required_bytes: 200 * MiB } });
    expect(hardLimit(join(brick!, path))).toBe(BigInt(Math.floor(200 * MiB * 0.95)));
    // One connection for all, names quoted for the remote shell; quota-deem-statfs once.
    expect(commands()).toEqual([
      "sudo gluster volume set 'ext1' quota-deem-statfs on",
      `sudo gluster volume quota 'ext1' limit-usage '/${path}' ${Math.floor(100 * MiB * 0.95)}`,
      `sudo gluster volume quota 'ext1' limit-usage '/${path}' ${Math.floor(200 * MiB * 0.95)}`,
    ]);
    expect(sshd.tail(200).match(/Accepted publickey for root/g)).toHaveLength(1);
    await client.controller("DeleteVolume", { volume_id: "pvc-ext" });
  });

  it("refuses a host whose key is not the one the secret knows: the create is not acknowledged, and says why", async () => {
    const before = commands().length;
    const client = await startDriver("csi-wrong-key", join(dir, "wrong-secret"));
    const error = await client
      .controller("CreateVolume", {
        name: "pvc-spoofed",
        capacity_range: { required_bytes: 100 * MiB },
        volume_capabilities: CAPS,
        parameters: { hostvol_type: "External", gluster_volname: "ext1" },
      })
      .then(
        () => undefined,
        (e: CallError) => e,
      );
    expect(error).toBeInstanceOf(CallError);
    expect(error!.code).toBe(14); // UNAVAILABLE: the CO retries
    expect(error!.message).toMatch(
      /volume pvc-spoofed is created but its quota on the Gluster cluster of pool ext1 is not set yet: no Gluster host of 127\.0\.0\.2 took the SSH connection for quota: 127\.0\.0\.2: .*verification failed/i,
    );
    expect(commands()).toHaveLength(before);
    expect(hardLimit(join(brick!, pvPath("subvol", "pvc-spoofed")))).toBeUndefined();
  });
});
