/**
 * The pool builder (src/core/pool/build.ts) on its own: `storage-add`'s arguments in, the KadaluStorage that
 * would be sent out, or the UsageError naming the argument at fault. The CLI's own tests run it end to end.
 */
import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/core/errors.js";
import { buildKadaluStorage, parseExternal, parseNodePath, planStorageAdd, type StorageAddInput } from "../../../src/core/pool/build.js";

const input = (extra: Partial<StorageAddInput>): StorageAddInput => ({ name: "pool1", namespace: "kadalu", units: [], layout: [], ...extra });
const path = (text: string): StorageAddInput["units"][number] => ({ kind: "path", text });

/** The message of the UsageError `build` throws (and that it is one). */
function refusal(build: () => unknown): string {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("built without complaint");
}

describe("buildKadaluStorage: from flags", () => {
  it("a Replica1 pool by default, as the object to send", () => {
    expect(buildKadaluStorage(input({ units: [path("kube1:/data/pool1")] }))).toEqual({
      apiVersion: "kadalu-operator.storage/v1alpha1",
      kind: "KadaluStorage",
      metadata: { name: "pool1", namespace: "kadalu" },
      spec: { type: "Replica1", storage: [{ node: "kube1", path: "/data/pool1" }] },
    });
  });

  it("keeps the units in command-line order across --device, --path and --pvc (the order makes the groups)", () => {
    const pool = buildKadaluStorage(
      input({
        type: "Replica3",
        units: [{ kind: "pvc", text: "claim-a" }, { kind: "device", text: "kube2:/dev/sdb" }, path("kube3:/data/b")],
      }),
    );
    expect(pool.spec.storage).toEqual([{ pvc: "claim-a" }, { node: "kube2", device: "/dev/sdb" }, { node: "kube3", path: "/data/b" }]);
  });

  it("writes the optional fields in upstream's order, only when given", () => {
    const pool = buildKadaluStorage(
      input({
        type: "Replica2",
        units: [path("kube1:/a"), path("kube2:/b")],
        tiebreaker: "tie:/tb",
        pvReclaimPolicy: "archive",
        volumeId: "0b0d1a2e-4f0a-4c55-9b8e-6a3b7e2b9d11",
        singlePvPerPool: true,
        kadaluFormat: "non-native",
      }),
    );
    expect(Object.keys(pool.spec)).toEqual(["type", "storage", "tiebreaker", "pvReclaimPolicy", "volume_id", "single_pv_per_pool", "kadalu_format"]);
    expect(pool.spec.tiebreaker).toEqual({ node: "tie", path: "/tb", port: 24007 });
    expect(Object.keys(buildKadaluStorage(input({ units: [path("kube1:/a")], singlePvPerPool: false })).spec)).toEqual(["type", "storage"]);
  });

  it("an External pool from --external, its hosts trimmed and the volume's slashes dropped", () => {
    expect(buildKadaluStorage(input({ external: "g1, g2:/gvol0/" })).spec).toEqual({
      type: "External",
      storage: [],
      details: { gluster_hosts: ["g1", "g2"], gluster_volname: "gvol0", gluster_options: "" },
    });
    expect(buildKadaluStorage(input({ external: "g1:/v", glusterOptions: "log-level=DEBUG" })).spec.details?.gluster_options).toBe("log-level=DEBUG");
  });

  it("a Disperse pool takes --data and --redundancy as given", () => {
    const units = ["kube1:/a", "kube2:/b", "kube3:/c"].map(path);
    expect(buildKadaluStorage(input({ type: "Disperse", units, data: 2, redundancy: 1 })).spec.disperse).toEqual({ data: 2, redundancy: 1 });
  });

  it.each([
    [{ type: "Replica4" }, `--type "Replica4" is not valid; use one of Replica1, Replica2, Replica3, Disperse, Arbiter, External`],
    [{ pvReclaimPolicy: "keep" }, `--pv-reclaim-policy "keep" is not valid; use one of delete, archive, retain`],
    [{ kadaluFormat: "nfs" }, `--kadalu-format "nfs" is not valid; use one of native, non-native`],
    [{ external: "g1:/v", type: "Replica1" }, "--external is used only with --type External (got --type Replica1)"],
    [{ glusterOptions: "x=y" }, "--gluster-options is used only with --external"],
    [{ tiebreaker: "tie:/tb" }, "--tiebreaker is used only with --type Replica2 (got Replica1)"],
    [{ data: 2 }, "--data and --redundancy are used only with --type Disperse (got Replica1)"],
    [{ type: "External", units: [path("kube1:/a")], external: "g1:/v" }, "an External pool takes no --device, --path or --pvc"],
    [{ type: "External", units: [] }, "an External pool needs --external HOST[,HOST...]:/VOLUME"],
    [
      { kadaluFormat: "native", singlePvPerPool: true },
      "--single-pv-per-pool hands the whole volume to one PV, which is the non-native format: drop --kadalu-format native or --single-pv-per-pool",
    ],
  ] as [Partial<StorageAddInput>, string][])("refuses %o: %s", (flags, message) => {
    expect(refusal(() => buildKadaluStorage(input({ units: [path("kube1:/a")], ...flags })))).toBe(message);
  });
});

describe("buildKadaluStorage: from gluster-style arguments", () => {
  it("a Replica3 pool from `replica 3` and three units, with --storage-unit-type", () => {
    const pool = buildKadaluStorage(input({ layout: ["replica", "3", "kube1:/a", "kube2:/b", "kube3:/c"], storageUnitType: "path" }));
    expect(pool.spec).toEqual({
      type: "Replica3",
      storage: [
        { node: "kube1", path: "/a" },
        { node: "kube2", path: "/b" },
        { node: "kube3", path: "/c" },
      ],
    });
  });

  it("an External pool from `external HOST:/VOLUME`, with no --storage-unit-type needed", () => {
    expect(buildKadaluStorage(input({ layout: ["external", "g1:/gvol0"] })).spec.details).toEqual({
      gluster_hosts: ["g1"],
      gluster_volname: "gvol0",
      gluster_options: "",
    });
  });

  it("disperse counts from the layout; matching --data/--redundancy are accepted", () => {
    const layout = ["disperse-data", "2", "redundancy", "1", "kube1:/a", "kube2:/b", "kube3:/c"];
    expect(buildKadaluStorage(input({ layout, storageUnitType: "device", data: 2 })).spec.disperse).toEqual({ data: 2, redundancy: 1 });
  });

  it.each([
    [{ units: [path("kube1:/a")] }, "give storage units either as arguments after NAME or with --device/--path/--pvc/--external, not both"],
    [{ storageUnitType: undefined }, "storage units given as arguments need --storage-unit-type device, path or pvc"],
    [{ type: "Replica2" }, `--type Replica2 does not match the layout "replica 3 kube1:/a kube2:/b kube3:/c", which describes a Replica3 pool`],
  ] as [Partial<StorageAddInput>, string][])("refuses %o: %s", (flags, message) => {
    const layout = ["replica", "3", "kube1:/a", "kube2:/b", "kube3:/c"];
    expect(refusal(() => buildKadaluStorage(input({ layout, storageUnitType: "path", ...flags })))).toBe(message);
  });

  it("refuses --data/--redundancy that contradict the layout", () => {
    const layout = ["disperse-data", "2", "redundancy", "1", "kube1:/a", "kube2:/b", "kube3:/c"];
    expect(refusal(() => buildKadaluStorage(input({ layout, storageUnitType: "path", redundancy: 2 })))).toBe(
      "--data/--redundancy do not match the layout, which gives data 2 and redundancy 1",
    );
  });
});

describe("NODE:PATH and HOST:/VOLUME", () => {
  it("normalises the path as the directory is named, leaving `..` for validation to refuse", () => {
    expect(parseNodePath("--path", "kube1://d/./x/")).toEqual({ node: "kube1", path: "/d/x" });
    expect(parseNodePath("--path", "kube1:/d/../x")).toEqual({ node: "kube1", path: "/d/../x" });
  });

  it.each([
    ["--device", "/dev/sdb", `--device "/dev/sdb" must be NODE:PATH, as in --device kube1:/dev/sdb`],
    ["--path", "kube1:", `--path "kube1:" must be NODE:PATH, as in --path kube1:/data/pool1`],
    ["--device", "kube1:sdb", `--device "kube1:sdb": the path must be absolute, as in kube1:/dev/sdb`],
    ["--tiebreaker", "tie:tb", `--tiebreaker "tie:tb": the path must be absolute, as in tie:/tb`],
  ])("refuses %s %s", (flag, value, message) => {
    expect(refusal(() => parseNodePath(flag, value))).toBe(message);
  });

  it.each(["gvol0", "g1:", ":/gvol0", "g1,,g2:/gvol0", "g1:/"])("refuses external storage %s", (value) => {
    expect(refusal(() => parseExternal(value))).toBe(
      `external storage "${value}" must be HOST[,HOST...]:/VOLUME, as in --external gluster1.example.com:/gvol0`,
    );
  });
});

describe("planStorageAdd: build, then validate", () => {
  const replica3 = (units: string[], force?: boolean): StorageAddInput => input({ type: "Replica3", units: units.map(path), force });

  it("a sound pool: no problems", () => {
    expect(planStorageAdd(replica3(["kube1:/a", "kube2:/a", "kube3:/a"])).problems).toEqual([]);
  });

  it("two members of one replica group on one node: refused, unless --force", () => {
    const units = ["kube1:/a", "kube1:/b", "kube3:/a"];
    expect(planStorageAdd(replica3(units)).problems).toEqual([
      {
        field: "spec.storage",
        message: "replica group 1 of pool1 puts 2 of its 3 storage units on node kube1 (kube1:/a, kube1:/b); use other nodes or pass --force",
      },
    ]);
    expect(planStorageAdd(replica3(units, true)).problems).toEqual([]);
  });

  it("what validation finds comes back with the pool, which is not thrown away", () => {
    const { pool, problems } = planStorageAdd(replica3(["kube1:/a", "kube2:/a"]));
    expect(pool.spec.storage).toHaveLength(2);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((problem) => problem.field.startsWith("spec"))).toBe(true);
  });
});
