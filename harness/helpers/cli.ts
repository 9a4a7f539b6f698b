/** Runs the CLI in-process (main with captured streams) or as a process (the built bin). */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connectWithClient } from "../../src/cli/deps.js";
import { main } from "../../src/cli/main.js";
import { captureIO } from "./io.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const BIN = fileURLToPath(new URL("../../bin/kubectl-kadalu", import.meta.url));

export interface RunOptions {
  interactive?: boolean;
  /** Answers for confirmation prompts, in order; a prompt with none left fails the test. */
  answers?: boolean[];
  env?: NodeJS.ProcessEnv;
}

export async function runCli(args: string[], options: RunOptions = {}): Promise<CliResult & { prompts: string[] }> {
  const io = captureIO({ interactive: options.interactive });
  const answers = [...(options.answers ?? [])];
  const prompts: string[] = [];
  const confirm = async (question: string): Promise<boolean> => {
    prompts.push(question);
    const answer = answers.shift();
    if (answer === undefined) throw new Error(`unexpected prompt: ${question}`);
    return answer;
  };
  const env = options.env ?? process.env;
  const code = await main(args, { io, env, connect: connectWithClient(env), confirm });
  return { code, stdout: io.stdout(), stderr: io.stderr(), prompts };
}

export function runBin(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<CliResult> {
  return runProgram(process.execPath, [BIN, ...args], env, input);
}

/** Runs any program (the single binary, say) to its end without blocking this process's event loop. */
export function runProgram(program: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}
