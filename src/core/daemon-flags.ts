/**
 * Bad flags to a daemon (kadalu-operator, kadalu-csi and its in-pod tools) end it as bad flags end the CLI:
 * one `error:` line, exit 2. Node's util.parseArgs reads the flags (the caller passes the call in, so the
 * pure core needs no Node import); its errors are reworded here into one line that names the flag.
 */
import { UsageError } from "./errors.js";
import { EXIT_RUNTIME, EXIT_USAGE } from "./exit-codes.js";

/** Runs `parse` (a strict util.parseArgs call over `flags`); a flag it refuses becomes a UsageError. */
export function readFlags<T>(parse: () => T, flags: readonly string[]): T {
  try {
    return parse();
  } catch (error) {
    throw flagError(error as { code?: unknown; message: string }, flags) ?? error;
  }
}

function flagError(error: { code?: unknown; message: string }, flags: readonly string[]): UsageError | undefined {
  const named = /'(-[^' ]*)/.exec(error.message)?.[1] ?? "";
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`unknown flag ${named}; the flags are ${flags.map((flag) => `--${flag}`).join(", ")}`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new UsageError(`unexpected argument "${/^Unexpected argument '(.*)'\. /s.exec(error.message)?.[1] ?? ""}": every argument is a --flag`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/does not take an argument/.test(error.message)) return new UsageError(`${named} takes no value`);
      // A value starting with "-" reads as the next flag: `--endpoint --role x` forgot the endpoint.
      return new UsageError(`${named} needs a value${/ambiguous/.test(error.message) ? ` (one starting with "-" is written ${named}=-VALUE)` : ""}`);
    default:
      return undefined;
  }
}

/** What a daemon writes when a failure ends it, and its exit code: usage errors as the CLI words them. */
export function daemonFailure(program: string, error: unknown): { line: string; exitCode: number } {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof UsageError ? { line: `error: ${message}\n`, exitCode: EXIT_USAGE } : { line: `${program}: ${message}\n`, exitCode: EXIT_RUNTIME };
}
