/** The built CLI under a pseudo-terminal, against the API test server. */
import { BIN } from "../helpers/cli.js";
import { KEY, openTerminal, type Exit } from "./pty.js";

/** How a user starts the CLI: the npm bundle through bin/kubectl-kadalu, or the single binary. */
export interface Program {
  name: string;
  command: string;
  args: string[];
}

export const NPM_BUNDLE: Program = { name: "npm bundle", command: process.execPath, args: [BIN] };

export const ANSWERS = {
  y: `y${KEY.enter}`,
  n: `n${KEY.enter}`,
  Enter: KEY.enter,
  "Ctrl-C": KEY.ctrlC,
} as const;
export type Answer = keyof typeof ANSWERS;

export interface Session {
  exit: Exit;
  /** The screen, control sequences removed. */
  screen: string;
}

/** Runs `args` on a terminal, waits for `question`, types the answer, and returns how it ended. */
export async function answerPrompt(program: Program, args: string[], question: string, answer: Answer): Promise<Session> {
  const terminal = openTerminal(program.command, [...program.args, ...args]);
  try {
    await terminal.waitFor(question);
    await terminal.waitFor("(y/N)");
    terminal.type(ANSWERS[answer]);
    const exit = await terminal.ended();
    return { exit, screen: terminal.text() };
  } finally {
    await terminal.close();
  }
}
