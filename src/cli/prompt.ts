/** Confirmation prompts: only with a person at the terminal, always on stderr. */
import { AlreadyReported, UsageError } from "../core/errors.js";
import { EXIT_INTERRUPTED } from "../core/exit-codes.js";
import type { IOStreams } from "./io.js";

export type Confirm = (question: string) => Promise<boolean>;

export function terminalConfirm(io: IOStreams): Confirm {
  return async (question: string): Promise<boolean> => {
    const { confirmPrompt } = await import("./prompt-library.js");
    try {
      return await confirmPrompt({ message: question, default: false }, { input: io.in, output: io.err as NodeJS.WritableStream });
    } catch (error) {
      // Ctrl-C in the prompt's raw mode is a key, not a signal: the library ends the prompt with this error.
      if ((error as Error).name !== "ExitPromptError") throw error;
      io.err.write("interrupted: nothing was changed\n");
      throw new AlreadyReported(EXIT_INTERRUPTED);
    }
  };
}

/**
 * Asks unless --yes was given. Without a terminal there is no one to ask: refuse with the way out,
 * rather than hang on a closed stdin or proceed silently.
 */
export async function confirmOrRefuse(question: string, opts: { yes: boolean; io: IOStreams; confirm: Confirm }): Promise<boolean> {
  if (opts.yes) return true;
  if (!opts.io.interactive) throw new UsageError("refusing to proceed without confirmation: no terminal to ask on; pass --yes to confirm");
  return opts.confirm(question);
}
