/**
 * pods/exec over WebSocket with the v4 and v5 channel protocols: one byte of channel, then data.
 * Channels: 0 stdin, 1 stdout, 2 stderr, 3 error (a Status ending the stream), 255 close (v5: stdin closed).
 */
import { spawn } from "node:child_process";
import { PassThrough, type Readable, Writable } from "node:stream";
import { isAbsolute, join } from "node:path";
import type { WebSocket } from "ws";

export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

export interface ExecContext {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdin: Readable | null;
  stdout: Writable;
  stderr: Writable;
}

/** Runs the command and resolves to its exit code. */
export type ExecHandler = (context: ExecContext) => Promise<number>;

function channelWriter(socket: WebSocket, channel: number): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (socket.readyState !== socket.OPEN) return callback();
      socket.send(Buffer.concat([Buffer.from([channel]), Buffer.from(chunk)]), callback);
    },
  });
}

function exitStatus(code: number): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    reason: "NonZeroExitCode",
    message: `command terminated with non-zero exit code: error executing command, exit status ${code}`,
    details: { causes: [{ reason: "ExitCode", message: String(code) }] },
  };
}

async function finish(writer: Writable): Promise<void> {
  await new Promise<void>((resolve) => writer.end(resolve));
}

export async function serveExec(
  socket: WebSocket,
  context: Omit<ExecContext, "stdin" | "stdout" | "stderr">,
  wantsStdin: boolean,
  handler: ExecHandler,
): Promise<void> {
  const stdin = wantsStdin ? new PassThrough() : null;
  socket.on("message", (data: Buffer) => {
    const channel = data[0];
    if (channel === 0) stdin?.write(data.subarray(1));
    if (channel === 255 && data[1] === 0) stdin?.end();
  });
  socket.on("close", () => stdin?.end());
  const stdout = channelWriter(socket, 1);
  const stderr = channelWriter(socket, 2);
  let code: number;
  try {
    code = await handler({ ...context, stdin, stdout, stderr });
  } catch (error) {
    stderr.write(`${(error as Error).message}\n`);
    code = 126;
  }
  await finish(stdout);
  await finish(stderr);
  if (socket.readyState === socket.OPEN) {
    socket.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(exitStatus(code)))]));
    socket.close(1000);
  }
}

/**
 * A handler that runs the command on this machine with `root` standing for the pod's filesystem:
 * every absolute path argument is taken relative to `root` (so `cat /mnt/pool1/stat.db` reads
 * `<root>/mnt/pool1/stat.db`); the program itself comes from this machine's PATH.
 */
export function localDirExec(root: string, programs: Record<string, string[]> = {}): ExecHandler {
  return (context) =>
    new Promise<number>((resolve, reject) => {
      // A program of the pod's image can be stood in for by a local command (`programs`), whose own
      // arguments are kept as they are.
      const stand = Object.entries(programs).find(([prefix]) => context.command.join(" ").startsWith(prefix));
      const [program, ...args] = stand ? [...stand[1], ...context.command.slice(stand[0].split(" ").length)] : context.command;
      const kept = stand ? stand[1].length - 1 : 0;
      if (!program) return reject(new Error("no command given"));
      const mapped = args.map((arg, index) => (index >= kept && isAbsolute(arg) ? join(root, arg) : arg));
      const child = spawn(program, mapped, { cwd: root, stdio: [context.stdin ? "pipe" : "ignore", "pipe", "pipe"] });
      if (context.stdin && child.stdin) context.stdin.pipe(child.stdin);
      child.stdout!.pipe(context.stdout, { end: false });
      child.stderr!.pipe(context.stderr, { end: false });
      child.on("error", (error) => {
        context.stderr.write(`exec: "${program}": ${error.message}\n`);
        resolve(127);
      });
      child.on("close", (code) => resolve(code ?? 1));
    });
}
