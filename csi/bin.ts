import { archivedTool } from "./archived.js";
import { main } from "./main.js";

const args = process.argv.slice(2);
if (args[0] === "archived") {
  archivedTool(args.slice(1), (text) => process.stdout.write(`${text}\n`)).catch((error: Error) => {
    process.stderr.write(`kadalu-csi: ${error.message}\n`);
    process.exitCode = 1;
  });
} else {
  main(args, process.env).catch((error: Error) => {
    process.stderr.write(`kadalu-csi: ${error.message}\n`);
    process.exit(1);
  });
}
