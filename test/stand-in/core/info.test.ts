import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildExternalInfo, buildNativeInfo, decodeInfo, decodeKadaluInfo, encodeInfo, poolOfKey } from "../../../src/core/info/codec.js";
import { pythonJsonDumps } from "../../../src/core/info/python-json.js";
import type { KadaluStorage } from "../../../src/core/pool/types.js";
import { formatBytes } from "../../../src/core/units.js";
import { xxh64Hex } from "../../../src/core/xxh64.js";

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/info/${name}`, import.meta.url), "utf8");

describe("kadalu-info codec", () => {
  it("re-encodes upstream's serialisation byte for byte", () => {
    for (const name of ["pool1.info", "ext1.info"]) {
      const text = fixture(name);
      const { info, problems } = decodeInfo(name.replace(".info", ""), text);
      expect(problems).toEqual([]);
      expect(encodeInfo(info!)).toBe(text);
    }
  });

  it("builds the entry upstream's operator writes for a Replica3 pool", () => {
    const pool: KadaluStorage = {
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "pool1" },
      spec: {
        type: "Replica3",
        storage: ["kube1", "kube2", "kube3"].map((node) => ({ node, device: "/dev/vdc" })),
        options: [{ key: "performance.quick-read", value: "off" }],
      },
    };
    const info = buildNativeInfo(pool, { namespace: "kadalu", kadaluVersion: "1.2.0", volumeId: "4f2c8a52-b4a1-11ee-9c1c-0242ac110002" });
    expect(encodeInfo(info)).toBe(fixture("pool1.info"));
  });

  it("builds External entries with gluster_host first and hosts comma-joined", () => {
    const pool: KadaluStorage = {
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "ext1" },
      spec: {
        type: "External",
        storage: [],
        details: { gluster_host: "g1.example.com", gluster_hosts: ["g2.example.com"], gluster_volname: "gv0", gluster_options: "log-level=DEBUG" },
      },
    };
    expect(encodeInfo(buildExternalInfo(pool, "4f2c8a52-b4a1-11ee-9c1c-0242ac110003"))).toBe(fixture("ext1.info"));
  });

  it("fills brick_device_dir for file devices and a tiebreaker for Replica2", () => {
    const pool: KadaluStorage = {
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "p2" },
      spec: { type: "Replica2", storage: [{ node: "n1", device: "/var/lib/disk.img" }, { pvc: "brick" }], tiebreaker: { node: "t", path: "/mnt" } },
    };
    const info = buildNativeInfo(pool, { namespace: "kadalu", kadaluVersion: "x", volumeId: "v" });
    expect(info.bricks[0]).toMatchObject({ brick_device: "/var/lib/disk.img", brick_device_dir: "/var/lib", node: "server-p2-0-0.p2" });
    expect(info.bricks[1]).toMatchObject({ pvc_name: "brick", kube_hostname: "", brick_index: 1 });
    expect(info.tiebreaker).toEqual({ node: "t", path: "/mnt", port: 24007 });
  });

  it("keeps unknown keys and reports malformed entries by pool and key (a volname that is no pool name included)", () => {
    const { pools, problems } = decodeKadaluInfo({
      uid: "x",
      volumes: "",
      "good.info": '{"volname": "good", "volume_id": "v", "type": "Replica1", "bricks": [], "future_key": 1}',
      "broken.info": "{not json",
      "nobricks.info": '{"volname": "nobricks", "volume_id": "v", "type": "Replica3"}',
      "ext.info": '{"volname": "ext", "volume_id": "v", "type": "External", "gluster_hosts": ""}',
      "dotted.info": '{"volname": "a.b=c", "volume_id": "v", "type": "Replica1", "bricks": []}',
      "escape.info": '{"volname": "../etc", "volume_id": "v", "type": "Replica1", "bricks": []}',
    });
    expect(pools.map((pool) => pool.volname)).toEqual(["good"]);
    expect(pools[0]!.future_key).toBe(1);
    expect(problems).toEqual([
      { pool: "broken", key: "broken.info", message: expect.stringMatching(/^is not valid JSON/) },
      { pool: "dotted", key: "volname", message: "must be the pool name (lower-case letters, digits and '-')" },
      { pool: "escape", key: "volname", message: "must be the pool name (lower-case letters, digits and '-')" },
      { pool: "ext", key: "gluster_hosts", message: "must be a comma-separated host list" },
      { pool: "ext", key: "gluster_volname", message: "must be the Gluster volume name" },
      { pool: "nobricks", key: "bricks", message: "must be a list of bricks with integer brick_index" },
    ]);
  });

  it("strips the .info suffix exactly (upstream's rstrip mangled names ending in i, n, f, o)", () => {
    expect(poolOfKey("info.info")).toBe("info");
    expect(poolOfKey("pool-fin.info")).toBe("pool-fin");
    expect(poolOfKey("uid")).toBeUndefined();
  });

  it("serialises like Python's json.dumps, ensure_ascii included", () => {
    expect(pythonJsonDumps({ a: [1, true, null], é: 'ü\n"', s: "😀" })).toBe('{"a": [1, true, null], "\\u00e9": "\\u00fc\\n\\"", "s": "\\ud83d\\ude00"}');
    expect(pythonJsonDumps({ e: {}, l: [] })).toBe('{"e": {}, "l": []}');
  });
});

describe("xxh64 (the PV path contract)", () => {
  it.each([
    ["", "ef46db3751d8e999"],
    ["pvc-1", "d3d368531b48c1bb"],
    ["pvc-5b0f0f0e-1111-2222-3333-444455556666", "c3c066e70e6b1338"],
    ["archived-pvc-1", "66a83506df248137"],
  ])("%j -> %s", (name, hex) => {
    expect(xxh64Hex(name)).toBe(hex);
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536 * 1024 * 1024, "1.5 GiB"],
    [1024 ** 4 * 100, "100.0 TiB"],
    [1024 * 1024 - 1, "1.0 MiB"],
  ])("%d -> %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
