/** A pool's volfiles from its kadalu-info entry: the graphs upstream's server asks volgen for, per pool type. */
import { describe, expect, it } from "vitest";
import type { NativePoolInfo } from "../../../src/core/info/codec.js";
import { brickVolfileId, poolVolfiles, type BrickIdentity } from "../../../server/pool-volfiles.js";

const VOLUME_ID = "8e0d9877-d295-48f9-9ee7-83cf593d27ff";

function pool(type: NativePoolInfo["type"], bricks: number, extra: Partial<NativePoolInfo> = {}): NativePoolInfo {
  return {
    namespace: "kadalu",
    kadalu_version: "0.1.0",
    volname: "pool1",
    volume_id: VOLUME_ID,
    single_pv_per_pool: false,
    type,
    pvReclaimPolicy: "delete",
    bricks: Array.from({ length: bricks }, (_, index) => ({
      brick_path: "/bricks/pool1/data/brick",
      kube_hostname: `node${index}`,
      node: `server-pool1-${index}-0.pool1`,
      node_id: `node-${index}`,
      host_brick_path: `/data/pool1-${index}`,
      brick_device: "",
      pvc_name: "",
      brick_device_dir: "",
      decommissioned: "",
      brick_index: index,
    })),
    disperse: { data: 0, redundancy: 0 },
    options: {},
    ...extra,
  };
}

const brick = (index = 0): BrickIdentity => ({
  pool: "pool1",
  volumeId: VOLUME_ID,
  brickPath: "/bricks/pool1/data/brick",
  brickIndex: index,
  nodeId: `node-${index}`,
  nodeName: `node${index}`,
});

/** `name type subvolumes` of each xlator, in order. */
const graph = (volfile: string): string[] =>
  [...volfile.matchAll(/^volume (\S+)\n {4}type (\S+)\n(?:(?: {4}option .*\n)*)(?: {4}subvolumes (.*)\n)?end-volume$/gm)].map(
    (m) => `${m[1]} ${m[2]}${m[3] ? ` <- ${m[3]}` : ""}`,
  );

describe("pool volfiles", () => {
  it("names the brick's volfile as upstream's glusterfsd.py: POOL.NODE.PATH-DASHED", () => {
    expect(brickVolfileId(brick())).toBe("pool1.node0.bricks-pool1-data-brick");
    expect(Object.keys(poolVolfiles(pool("Replica1", 1), brick()).files)).toEqual(["pool1.node0.bricks-pool1-data-brick.vol", "pool1.vol"]);
  });

  it("gives a brick the simple-quota translator and a protocol/server that serves client volfiles", () => {
    const { files, brickVolfile } = poolVolfiles(pool("Replica3", 3), brick(1));
    expect(graph(files[brickVolfile]!)).toEqual([
      "pool1-posix storage/posix",
      "pool1-changelog features/changelog <- pool1-posix",
      "pool1-access-control features/access-control <- pool1-changelog",
      "pool1-locks features/locks <- pool1-access-control",
      "pool1-simple-quota features/simple-quota <- pool1-locks",
      "pool1-upcall features/upcall <- pool1-simple-quota",
      "pool1-io-threads performance/io-threads <- pool1-upcall",
      "pool1-barrier features/barrier <- pool1-io-threads",
      "pool1-index features/index <- pool1-barrier",
      "/bricks/pool1/data/brick debug/io-stats <- pool1-index",
      "pool1-server protocol/server <- /bricks/pool1/data/brick",
    ]);
    expect(files[brickVolfile]).toContain("    option volspec-directory /var/lib/kadalu/volfiles\n    option listen-port 24007\n");
    expect(files[brickVolfile]).toContain(`    option volume-id ${VOLUME_ID}\n    option directory /bricks/pool1/data/brick\n`);
  });

  it("builds a Replica3 client graph without the caches upstream's server turns off, and a self-heal daemon graph", () => {
    const { files, shdVolfile } = poolVolfiles(pool("Replica3", 3), brick());
    expect(graph(files["pool1.vol"]!)).toEqual([
      "pool1-client-0 protocol/client",
      "pool1-client-1 protocol/client",
      "pool1-client-2 protocol/client",
      "pool1-replicate-0 cluster/replicate <- pool1-client-0 pool1-client-1 pool1-client-2",
      "pool1-utime features/utime <- pool1-replicate-0",
      "pool1-write-behind performance/write-behind <- pool1-utime",
      "pool1 debug/io-stats <- pool1-write-behind",
    ]);
    expect(files["pool1.vol"]).toContain("    option remote-host server-pool1-2-0.pool1\n    option remote-port 24007\n");
    expect(shdVolfile).toBe("glustershd.vol");
    expect(files["glustershd.vol"]).toContain("    option iam-self-heal-daemon on\n");
  });

  it("gives a Replica1 pool the graph upstream's server gives it (one-brick replicate under distribute), no self-heal daemon", () => {
    const { files, shdVolfile } = poolVolfiles(pool("Replica1", 1), brick());
    expect(graph(files["pool1.vol"]!).slice(0, 3)).toEqual([
      "pool1-client-0 protocol/client",
      "pool1-replicate-0 cluster/replicate <- pool1-client-0",
      "pool1-dht cluster/distribute <- pool1-replicate-0",
    ]);
    expect(shdVolfile).toBeUndefined();
    expect(files["glustershd.vol"]).toBeUndefined();
  });

  it("makes every third brick of an Arbiter pool the arbiter", () => {
    const info = pool("Arbiter", 3);
    expect(graph(poolVolfiles(info, brick(2)).files["pool1.node2.bricks-pool1-data-brick.vol"]!)[1]).toBe("pool1-arbiter features/arbiter <- pool1-posix");
    expect(poolVolfiles(info, brick(1)).files["pool1.node1.bricks-pool1-data-brick.vol"]).not.toContain("features/arbiter");
    expect(poolVolfiles(info, brick(0)).files["pool1.vol"]).toContain("    option arbiter-count 1\n");
  });

  it("builds Disperse groups of data + redundancy bricks", () => {
    const { files } = poolVolfiles(pool("Disperse", 6, { disperse: { data: 2, redundancy: 1 } }), brick());
    expect(graph(files["pool1.vol"]!).filter((line) => /cluster\//.test(line))).toEqual([
      "pool1-disperse-0 cluster/disperse <- pool1-client-0 pool1-client-1 pool1-client-2",
      "pool1-disperse-1 cluster/disperse <- pool1-client-3 pool1-client-4 pool1-client-5",
      "pool1-dht cluster/distribute <- pool1-disperse-0 pool1-disperse-1",
    ]);
    expect(files["pool1.vol"]).toContain("    option redundancy 1\n");
  });

  it("adds a Replica2 pool's tiebreaker as volgen's thin arbiter", () => {
    const { files } = poolVolfiles(pool("Replica2", 2, { tiebreaker: { node: "tie.example.com", path: "/mnt/tie", port: 24007 } }), brick());
    expect(files["pool1.vol"]).toContain(
      `    option afr-pending-xattr pool1-client-0,pool1-client-1,${VOLUME_ID}-ta\n    option thin-arbiter tie.example.com:/mnt/tie\n`,
    );
    expect(poolVolfiles(pool("Replica2", 2, { tiebreaker: {} }), brick()).files["pool1.vol"]).not.toContain("thin-arbiter");
  });

  it("applies the pool's options over upstream's defaults, in the volfile each belongs to", () => {
    const { files, brickVolfile } = poolVolfiles(
      pool("Replica3", 3, { options: { "performance.quick-read": "on", "diagnostics.brick-log-level": "debug", "client.event-threads": "4" } }),
      brick(),
    );
    expect(graph(files["pool1.vol"]!)).toContain("pool1-quick-read performance/quick-read <- pool1-write-behind");
    expect(files["pool1.vol"]).toContain("    option remote-port 24007\n    option event-threads 4\n");
    expect(files["pool1.vol"]).not.toContain("log-level");
    expect(files[brickVolfile]).toContain("    option unique-id /no/such/path\n    option log-level debug\n");
  });

  it("refuses a brick count that is not a multiple of the pool type's group", () => {
    expect(() => poolVolfiles(pool("Replica3", 2), brick())).toThrow("pool pool1: a Replica3 pool needs a multiple of 3 bricks, kadalu-info lists 2");
  });
});
