import { daemonFailure } from "../src/core/daemon-flags.js";
import { main } from "./main.js";

main(process.argv.slice(2), process.env).catch((error: unknown) => {
  const { line, exitCode } = daemonFailure("kadalu-operator", error);
  process.stderr.write(line);
  process.exit(exitCode);
});
