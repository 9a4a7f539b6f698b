/** Process entry of kubectl-kadalu: real streams, real prompt, the cluster client loaded on demand. */
import { connectWithClient } from "./deps.js";
import { processStreams } from "./io.js";
import { displayName, main } from "./main.js";
import { terminalConfirm } from "./prompt.js";

// The single binary answers kubectl's completion too when started under the helper's name (a link to it).
const completing = /^kubectl_complete-kadalu(\.exe)?$/i.test(process.argv0.split(/[\\/]/).pop() ?? "");
const args = completing && process.argv[2] !== "__complete" ? ["__complete", ...process.argv.slice(2)] : process.argv.slice(2);
const io = processStreams(process.argv, process.env);
// A reader that stopped reading (`| head`) has what it wanted: end quietly, with no stack.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(0);
});
void main(
  args,
  {
    io,
    env: process.env,
    connect: connectWithClient(process.env),
    confirm: terminalConfirm(io),
  },
  displayName(process.argv[1]),
).then((code) => {
  process.exitCode = code;
});
