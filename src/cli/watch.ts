/** `--watch` loops: they end on Ctrl-C (SIGINT) or SIGTERM, finishing the frame they are in, then exit 0. */
export interface Interrupt {
  readonly requested: boolean;
  /** Resolves when asked to stop (for waits that should end early). */
  readonly asked: Promise<void>;
  dispose(): void;
}

export function untilInterrupted(): Interrupt {
  let requested = false;
  let resolve!: () => void;
  const asked = new Promise<void>((done) => (resolve = done));
  const stop = (): void => {
    requested = true;
    resolve();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return {
    get requested() {
      return requested;
    },
    asked,
    dispose() {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    },
  };
}

/** A frame on a terminal replaces the previous one (cursor home, clear); elsewhere frames follow each other. */
export function frame(text: string, terminal: boolean): string {
  return terminal ? `\u001b[H\u001b[2J${text}` : `${text}\n`;
}
