import { main } from "./main.js";

main(process.env).then(() => process.exit(0), (error: Error) => {
  process.stdout.write(`kadalu-server: error: ${error.message}\n`);
  process.exit(1);
});
