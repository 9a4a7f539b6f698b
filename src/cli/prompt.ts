/** Confirmation prompts: only with a person at the terminal, always on stderr. */
import { UsageError } from "../core/errors.js";
import type { IOStreams } from "./io.js";

export type Confirm = (question: string) => Promise<boolean>;

export function terminalConfirm(io: IOStreams): Confirm {
  return async (question: string): Promise<boolean> => {
    const { default: confirm } = await import("@inquirer/confirm");
    return confirm({ message: question, default: false }, { input: io.in, output: io.err as NodeJS.WritableStream });
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
