import { daemonFailure } from "../src/core/daemon-flags.js";
import { archivedTool } from "./tools/archived.js";
import { devicesTool } from "./tools/devices.js";
import { probeTool } from "./tools/probe.js";
import { procSampleTool } from "./tools/proc-sample.js";
import { main } from "./main.js";

const args = process.argv.slice(2);
const tools: Record<string, (args: string[], out: (text: string) => void) => Promise<void>> = {
  archived: archivedTool,
  devices: devicesTool,
  probe: probeTool,
  "proc-sample": procSampleTool,
};
const tool = tools[args[0] ?? ""];
if (tool) {
  // A probe may leave a call to a hung mount behind: the process ends once its answer is out.
  tool(args.slice(1), (text) => process.stdout.write(`${text}\n`)).then(
    () => void (args[0] === "probe" && process.stdout.write("", () => process.exit(0))),
    (error: unknown) => {
      const { line, exitCode } = daemonFailure("kadalu-csi", error);
      process.stderr.write(line);
      process.exitCode = exitCode;
    },
  );
} else {
  main(args, process.env).catch((error: unknown) => {
    const { line, exitCode } = daemonFailure("kadalu-csi", error);
    process.stderr.write(line);
    process.exit(exitCode);
  });
}
