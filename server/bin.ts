import { basename } from "node:path";
import { healInfoMain } from "./heal-info.js";
import { main } from "./main.js";

if (basename(process.argv[1] ?? "") === "heal-info.sh") {
  try {
    process.exitCode = healInfoMain(process.argv.slice(2), (text) => void process.stdout.write(text));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
} else {
  main(process.env).then(() => process.exit(0), (error: Error) => {
    process.stdout.write(`kadalu-server: error: ${error.message}\n`);
    process.exit(1);
  });
}
