/** `completion bash|zsh|fish` and the hidden `__complete` that kubectl's plugin completion calls. */
import { Command } from "commander";
import type { Deps } from "../deps.js";
import { completionScript } from "../complete.js";

export function completionCommand(deps: Deps): Command {
  return new Command("completion")
    .description("Print a shell completion script for kubectl-kadalu (kubectl kadalu completes through kubectl_complete-kadalu)")
    .addArgument(new Command().createArgument("<shell>", "bash, zsh or fish").choices(["bash", "zsh", "fish"]))
    .addHelpText(
      "after",
      "\nExamples:\n  source <(kubectl-kadalu completion bash)\n  kubectl-kadalu completion fish > ~/.config/fish/completions/kubectl-kadalu.fish",
    )
    .action((shell: "bash" | "zsh" | "fish") => {
      deps.io.out.write(completionScript(shell));
    });
}
