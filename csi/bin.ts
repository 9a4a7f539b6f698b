import { main } from "./main.js";

main(process.argv.slice(2), process.env).catch((error: Error) => {
  process.stderr.write(`kadalu-csi: ${error.message}\n`);
  process.exit(1);
});
