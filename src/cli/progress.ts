/** A spinner on a terminal, plain lines elsewhere; always on stderr so stdout stays data. */
import type { IOStreams } from "./io.js";

export interface Progress {
  update(text: string): void;
  done(line?: string): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function startProgress(io: IOStreams, text: string, spinner = io.interactive): Progress {
  if (!spinner) {
    let last = "";
    const line = (next: string): void => {
      if (next !== last) io.err.write(`${next}\n`);
      last = next;
    };
    line(text);
    return { update: line, done: (final) => final && line(final) };
  }
  let current = text;
  let frame = 0;
  const draw = (): void => {
    io.err.write(`\r\x1b[2K${io.color.cyan(FRAMES[frame % FRAMES.length]!)} ${current}`);
    frame += 1;
  };
  draw();
  const timer = setInterval(draw, 80);
  return {
    update(next) {
      current = next;
    },
    done(final) {
      clearInterval(timer);
      io.err.write("\r\x1b[2K");
      if (final) io.err.write(`${final}\n`);
    },
  };
}
