import { EXIT_RUNTIME, EXIT_USAGE } from "./exit-codes.js";

/** A reason why an input is not acceptable, naming the argument or field at fault. */
export interface Problem {
  field: string;
  message: string;
}

/**
 * The CLI loads the Kubernetes edge as a separate bundle with its own copy of these classes, so
 * `instanceof` checks the class names an error carries rather than the identity of the class.
 */
const LINEAGE = Symbol.for("kubectl-kadalu.error-lineage");

/** Base of every error the CLI reports as a single `error: ...` line. */
export class KadaluError extends Error {
  readonly [LINEAGE]: string[];

  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
    const lineage: string[] = [];
    for (let proto: Function = new.target; proto && proto !== (Error as Function); proto = Object.getPrototypeOf(proto)) lineage.push(proto.name);
    this[LINEAGE] = lineage;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    const lineage = (value as { [LINEAGE]?: unknown } | null | undefined)?.[LINEAGE];
    return Array.isArray(lineage) && lineage.includes(this.name);
  }
}

/** Bad flags, bad arguments or an invalid pool: exit 2, nothing was sent to the cluster. */
export class UsageError extends KadaluError {
  constructor(message: string, hint?: string) {
    super(message, EXIT_USAGE, hint);
  }

  static fromProblems(problems: Problem[]): UsageError {
    const [first, ...rest] = problems;
    if (!first) return new UsageError("invalid input");
    const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length > 1 ? "s" : ""})` : "";
    return new UsageError(`${first.message}${more}`);
  }
}

/** The cluster refused, failed or could not be reached: exit 1. */
export class ClusterError extends KadaluError {
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
    hint?: string,
  ) {
    super(message, EXIT_RUNTIME, hint);
  }
}

/** A failure already written to stderr by the command itself; only the exit code remains to set. */
export class AlreadyReported extends KadaluError {
  constructor(exitCode: number = EXIT_RUNTIME) {
    super("already reported", exitCode);
  }
}

/** The cluster does not serve KadaluStorage: Kadalu was never installed, or purged. */
export class KadaluNotInstalled extends ClusterError {
  constructor() {
    super("Kadalu is not installed in this cluster (it does not serve KadaluStorage objects); run: kubectl kadalu install", 404);
  }
}
