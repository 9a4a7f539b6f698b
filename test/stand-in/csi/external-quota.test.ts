import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deemStatfsCommand, knownHostKey, limitUsageCommand, sshQuotaConfig } from "../../../csi/os/external-quota.js";

describe("quota over SSH for External pools", () => {
  it("builds upstream's command with 95% of the size, quoted, and refuses names that could reach the remote shell", () => {
    expect(limitUsageCommand("ext1", "subvol/ab/cd/pvc-1", 100 * 1024 ** 2)).toBe(
      "sudo gluster volume quota 'ext1' limit-usage '/subvol/ab/cd/pvc-1' 99614720",
    );
    expect(deemStatfsCommand("ext1")).toBe("sudo gluster volume set 'ext1' quota-deem-statfs on");
    for (const volume of ["ext1; reboot", "'x'", "$(id)", ""]) expect(() => limitUsageCommand(volume, "subvol/a", 1)).toThrow(/is not a plain name/);
    for (const path of ["../etc", "subvol/../../x", "/abs", "a b", "subvol/$(id)"])
      expect(() => limitUsageCommand("ext1", path, 1)).toThrow(/is not a plain relative path/);
  });

  it("knows a host key only where known_hosts lists it for that host (and port)", () => {
    const key = Buffer.from("a host key blob");
    const line = `[10.0.0.5]:2222,gluster1 ssh-ed25519 ${key.toString("base64")}`;
    expect(knownHostKey(line, "10.0.0.5", 2222, key)).toBe(true);
    expect(knownHostKey(line, "gluster1", 22, key)).toBe(true);
    expect(knownHostKey(line, "10.0.0.5", 22, key)).toBe(false);
    expect(knownHostKey(line, "10.0.0.6", 2222, key)).toBe(false);
    expect(knownHostKey(line, "gluster1", 22, Buffer.from("another"))).toBe(false);
    expect(knownHostKey(`# gluster1 ssh-ed25519 ${key.toString("base64")}`, "gluster1", 22, key)).toBe(false);
  });

  it("is on only with upstream's secret (the key file and the user), the known hosts optional", () => {
    const dir = mkdtempSync(join(tmpdir(), "kadalu-ssh-secret-"));
    try {
      expect(sshQuotaConfig({ SECRET_GLUSTERQUOTA_SSH_USERNAME: "kadalu" }, dir)).toBeUndefined();
      writeFileSync(join(dir, "ssh-privatekey"), "key");
      expect(sshQuotaConfig({}, dir)).toBeUndefined();
      expect(sshQuotaConfig({ SECRET_GLUSTERQUOTA_SSH_USERNAME: "kadalu" }, dir)).toMatchObject({ username: "kadalu", knownHosts: undefined, port: 22 });
      writeFileSync(join(dir, "ssh-known-hosts"), "gluster1 ssh-ed25519 AAAA\n");
      expect(sshQuotaConfig({ SECRET_GLUSTERQUOTA_SSH_USERNAME: "kadalu" }, dir, 2222)).toMatchObject({
        knownHosts: "gluster1 ssh-ed25519 AAAA\n",
        port: 2222,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
