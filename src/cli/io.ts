/** Streams, colour policy and object printers shared by every command (kubectl's IOStreams + PrintFlags). */
import { styleText } from "node:util";
import { toPortableYaml } from "../core/yaml.js";

export interface Writable {
  write(chunk: string): unknown;
}

/** The four colours the CLI's messages use: painted by Node's styleText when on, the text unchanged when off. */
export interface Palette {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

export function palette(enabled: boolean): Palette {
  // colorEnabled decided already (stderr's terminal, NO_COLOR, --no-color): styleText must not check stdout again.
  const paint =
    (color: "red" | "green" | "yellow" | "cyan") =>
    (text: string): string =>
      enabled ? styleText(color, text, { validateStream: false }) : text;
  return { red: paint("red"), green: paint("green"), yellow: paint("yellow"), cyan: paint("cyan") };
}

export interface IOStreams {
  out: Writable;
  err: Writable;
  /** Read only by prompts: a getter, so commands that never prompt never open stdin (~5 ms of streams). */
  readonly in: NodeJS.ReadableStream;
  /** Prompts and spinners need a person at both ends: stdin and stderr are terminals. */
  interactive: boolean;
  /** Colours for stderr messages. */
  color: Palette;
  /** stdout is a terminal: --watch redraws in place (elsewhere frames follow each other). */
  terminal: boolean;
  /** The terminal's width when stdout is one: help wraps to it (else to 80 columns). */
  columns?: number;
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
    get in() {
      return process.stdin;
    },
    // stderr first: when it is no terminal (scripts, CI) stdin is never opened.
    interactive: Boolean(process.stderr.isTTY && process.stdin.isTTY),
    color: palette(colorEnabled(process.stderr, env, noColor)),
    terminal: Boolean(process.stdout.isTTY) && env.TERM !== "dumb",
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
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
