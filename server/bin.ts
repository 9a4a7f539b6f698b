import { basename } from "node:path";
import { EXIT_RUNTIME } from "../src/core/exit-codes.js";
import { healInfoMain } from "./heal-info.js";
import { main } from "./main.js";
import { healNowMain } from "./heal-now.js";
import { markReplacedMain } from "./mark-replaced.js";

if (basename(process.argv[1] ?? "") === "heal-info.sh") {
  try {
    process.exitCode = healInfoMain(process.argv.slice(2), (text) => void process.stdout.write(text));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = EXIT_RUNTIME;
  }
} else if (process.argv[2] === "mark-replaced") {
  try {
    process.exitCode = markReplacedMain(process.argv.slice(3), (text) => void process.stdout.write(text));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exitCode = EXIT_RUNTIME;
  }
} else if (process.argv[2] === "heal-now") {
  healNowMain(process.argv.slice(3), (text) => void process.stdout.write(text)).then(
    (code) => (process.exitCode = code),
    (error: Error) => {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = EXIT_RUNTIME;
    },
  );
} else {
  main(process.env).then(
    () => process.exit(0),
    (error: Error) => {
      process.stdout.write(`kadalu-server: error: ${error.message}\n`);
      process.exit(EXIT_RUNTIME);
    },
  );
}
