/** Process entry of kubectl-kadalu: real streams, real prompt, the cluster client loaded on demand. */
import { connectWithClient } from "./deps.js";
import { processStreams } from "./io.js";
import { displayName, main } from "./main.js";
import { terminalConfirm } from "./prompt.js";

const io = processStreams(process.argv, process.env);
void main(process.argv.slice(2), {
  io, env: process.env, connect: connectWithClient(process.env), confirm: terminalConfirm(io),
}, displayName(process.argv[1])).then((code) => {
  process.exitCode = code;
});
