/** Captured IOStreams for running commands in-process. */
import { Readable } from "node:stream";
import { palette, type IOStreams } from "../../src/cli/io.js";

export interface CapturedIO extends IOStreams {
  stdout(): string;
  stderr(): string;
}

export function captureIO(options: { interactive?: boolean; color?: boolean } = {}): CapturedIO {
  let out = "";
  let err = "";
  return {
    out: { write: (chunk: string) => (out += chunk) },
    err: { write: (chunk: string) => (err += chunk) },
    in: Readable.from([]),
    interactive: options.interactive ?? false,
    color: palette(options.color ?? false),
    terminal: false,
    stdout: () => out,
    stderr: () => err,
  };
}
