/** Streams, colour policy and object printers shared by every command (kubectl's IOStreams + PrintFlags). */
import { Chalk, type ChalkInstance } from "chalk";
import { toPortableYaml } from "../core/yaml.js";

export interface Writable {
  write(chunk: string): unknown;
}

export interface IOStreams {
  out: Writable;
  err: Writable;
  in: NodeJS.ReadableStream;
  /** Prompts and spinners need a person at both ends: stdin and stderr are terminals. */
  interactive: boolean;
  /** Colours for stderr messages. */
  color: ChalkInstance;
}

export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, noColorFlag: boolean): boolean {
  if (noColorFlag || (env.NO_COLOR !== undefined && env.NO_COLOR !== "")) return false;
  if (env.TERM === "dumb") return false;
  return Boolean(stream.isTTY);
}

export function processStreams(argv: string[], env: NodeJS.ProcessEnv): IOStreams {
  const noColor = argv.includes("--no-color");
  return {
    out: process.stdout,
    err: process.stderr,
    in: process.stdin,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    color: new Chalk({ level: colorEnabled(process.stderr, env, noColor) ? 1 : 0 }),
  };
}

export const OBJECT_FORMATS = ["yaml", "json"] as const;
export type ObjectFormat = (typeof OBJECT_FORMATS)[number];

export function toYaml(value: unknown): string {
  return toPortableYaml(value);
}

export function formatObject(value: unknown, format: ObjectFormat): string {
  return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value);
}
