/**
 * `kadalu-server heal-now POOL`: starts the self-heal daemon's index heal in this pod now, as glusterd's
 * `gluster volume heal POOL` does: a brick op (GLUSTERD_BRICK_XLATOR_OP, heal op HEAL_INDEX) to each
 * replicate and disperse translator of the daemon's volfile, over the daemon's unix socket (`-S`).
 *
 * Without it the daemon sweeps its brick's heal index only when a brick connects and every
 * `cluster.heal-timeout` (600 s) after; a brick replaced once it is up (the replace-brick mark) would wait
 * for that. A daemon heals only its own brick's index (the pending entries the other bricks of its group
 * need), so the trigger goes to every pod of the group. A sweep that healed something sweeps again, so one
 * trigger carries a directory tree level by level, in the daemon's long-lived process.
 */
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { EXIT_OK, EXIT_USAGE } from "../src/core/exit-codes.js";
import { dns1123LabelError } from "../src/core/naming.js";
import { VOLFILES_DIR } from "./pool-volfiles.js";

export const SHD_SOCKET = "/run/gluster/shd.socket";
const GD_BRICK_PROGRAM = 4867634;
const GD_BRICK_VERSION = 2;
const GLUSTERD_BRICK_XLATOR_OP = 3;
const GF_SHD_OP_HEAL_INDEX = 1;
const TIMEOUT_MS = 10_000;

/** The translators a heal op goes to: every `cluster/replicate` and `cluster/disperse` volume of the volfile. */
export function healXlators(volfile: string): string[] {
  return [...volfile.matchAll(/^volume (\S+)\n\s+type cluster\/(?:replicate|disperse)$/gm)].map((match) => match[1]!);
}

const u32 = (value: number): Buffer => {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
};
/** XDR variable-length opaque (and string): length, bytes, padding to 4. */
const opaque = (bytes: Buffer): Buffer => Buffer.concat([u32(bytes.length), bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);

/** Gluster's dict_serialize: count, then per pair key length, value length, the key with its NUL, the value. Values as strings with their NUL. */
export function serializeDict(pairs: [string, string][]): Buffer {
  const parts = [u32(pairs.length)];
  for (const [key, value] of pairs) {
    const keyBytes = Buffer.from(key);
    const valueBytes = Buffer.from(`${value}\0`);
    parts.push(u32(keyBytes.length), u32(valueBytes.length), keyBytes, Buffer.from([0]), valueBytes);
  }
  return Buffer.concat(parts);
}

/** gluster's dict_unserialize, the inverse (values without their trailing NUL). */
export function unserializeDict(buffer: Buffer): Map<string, string> {
  const found = new Map<string, string>();
  if (buffer.length < 4) return found;
  let at = 4;
  for (let index = buffer.readUInt32BE(0); index > 0 && at + 8 <= buffer.length; index -= 1) {
    const keyLength = buffer.readUInt32BE(at);
    const valueLength = buffer.readUInt32BE(at + 4);
    at += 8;
    const key = buffer.toString("utf8", at, at + keyLength);
    at += keyLength + 1;
    found.set(key, buffer.toString("utf8", at, at + valueLength).replace(/\0$/, ""));
    at += valueLength;
  }
  return found;
}

/** One ONC RPC call (record-marked) of GLUSTERD_BRICK_XLATOR_OP with AUTH_NULL, carrying gd1_mgmt_brick_op_req. */
export function healIndexCall(xid: number, xlators: string[]): Buffer {
  const input = serializeDict([
    ["count", String(xlators.length)],
    ["xl-op", String(GF_SHD_OP_HEAL_INDEX)],
    ...xlators.flatMap((name, index): [string, string][] => [
      [`xl-${index}`, name],
      [name, String(index)],
    ]),
  ]);
  const body = Buffer.concat([
    ...[xid, 0, 2, GD_BRICK_PROGRAM, GD_BRICK_VERSION, GLUSTERD_BRICK_XLATOR_OP, 0, 0, 0, 0].map(u32),
    // gd1_mgmt_brick_op_req: name, op, input, and the dict later versions added (empty; older ones ignore it).
    opaque(Buffer.from("")),
    u32(0),
    opaque(input),
    opaque(Buffer.alloc(0)),
  ]);
  return Buffer.concat([u32(0x80000000 | body.length), body]);
}

export interface HealOpReply {
  opRet: number;
  opErrno: number;
  /** The daemon's word per brick: "<xl id>-<brick>-status" -> "Started self-heal", "Brick is remote", ... */
  statuses: Map<string, string>;
}

/** Reads the reply record (one fragment: the daemon answers in one). */
export function parseHealOpReply(record: Buffer): HealOpReply {
  let at = 0;
  const next = (): number => {
    if (at + 4 > record.length) throw new Error("the self-heal daemon's reply is cut short");
    const value = record.readUInt32BE(at);
    at += 4;
    return value;
  };
  const nextOpaque = (): Buffer => {
    const length = next();
    const bytes = record.subarray(at, at + length);
    at += length + ((4 - (length % 4)) % 4);
    return bytes;
  };
  next(); // xid
  if (next() !== 1) throw new Error("the self-heal daemon did not answer with a reply");
  if (next() !== 0) throw new Error("the self-heal daemon refused the call (RPC denied)");
  next(); // verifier flavour
  nextOpaque();
  const accept = next();
  if (accept !== 0) throw new Error(`the self-heal daemon did not take the call (RPC accept status ${accept})`);
  const opRet = next() | 0;
  const opErrno = next() | 0;
  const output = unserializeDict(nextOpaque());
  const statuses = new Map([...output].filter(([key]) => /^\d+-\d+-status$/.test(key)));
  return { opRet, opErrno, statuses };
}

/** Sends the heal op to the daemon behind `socket`; its reply. */
export async function triggerIndexHeal(socket: string, xlators: string[], timeoutMs = TIMEOUT_MS): Promise<HealOpReply> {
  return new Promise<HealOpReply>((resolve, reject) => {
    const connection = createConnection(socket);
    let received = Buffer.alloc(0);
    const fail = (error: Error): void => {
      connection.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`the self-heal daemon at ${socket} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    connection.on("error", (error) => {
      clearTimeout(timer);
      fail(new Error(`cannot reach the self-heal daemon at ${socket}: ${error.message}`));
    });
    connection.on("connect", () => connection.write(healIndexCall(Date.now() & 0x7fffffff, xlators)));
    connection.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readUInt32BE(0) & 0x7fffffff;
      if (received.length < 4 + length) return;
      clearTimeout(timer);
      connection.end();
      try {
        resolve(parseHealOpReply(received.subarray(4, 4 + length)));
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

export interface HealNowOptions {
  pool: string;
  volfilesDir?: string;
  socket?: string;
}

/** One line per translator: which of its bricks the daemon started healing. */
export async function healNow(options: HealNowOptions): Promise<string> {
  const { pool, volfilesDir = VOLFILES_DIR, socket = SHD_SOCKET } = options;
  const volfile = join(volfilesDir, "glustershd.vol");
  let text: string;
  try {
    text = readFileSync(volfile, "utf8");
  } catch {
    throw new Error(`${volfile} does not exist: pool ${pool} has no self-heal daemon in this pod`);
  }
  const xlators = healXlators(text);
  if (xlators.length === 0) throw new Error(`${volfile} has no replicate or disperse translator`);
  const reply = await triggerIndexHeal(socket, xlators);
  const statuses = [...reply.statuses].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }));
  const started = statuses.filter(([, status]) => status === "Started self-heal").map(([key]) => key.replace(/-status$/, ""));
  const others = statuses.filter(([, status]) => status !== "Started self-heal").map(([key, status]) => `${key.replace(/-status$/, "")}: ${status}`);
  const line = `index heal of pool ${pool}: started on ${started.length > 0 ? started.join(", ") : "no brick of this pod"}`;
  return others.length > 0 ? `${line} (${others.join("; ")})` : line;
}

/** `heal-now POOL`: the arguments checked, then the trigger; one line on stdout. */
export async function healNowMain(
  args: string[],
  write: (text: string) => void,
  heal: (options: HealNowOptions) => Promise<string> = healNow,
): Promise<number> {
  const [pool, ...rest] = args;
  if (!pool || rest.length > 0) {
    write("usage: kadalu-server heal-now POOL\n");
    return EXIT_USAGE;
  }
  const poolError = dns1123LabelError(pool);
  if (poolError) throw new Error(`pool name "${pool}" ${poolError}`);
  write(`${await heal({ pool })}\n`);
  return EXIT_OK;
}
