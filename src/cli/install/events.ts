/** Install progress as typed events; rendering is the renderer's job (plain lines or a spinner). */
import type { IOStreams } from "../io.js";
import { startProgress, type Progress } from "../progress.js";

export type InstallEvent =
  | { type: "applied"; object: string; outcome: string; note?: string; dryRun: boolean }
  | { type: "skipped"; object: string; reason: string }
  | { type: "waiting"; what: string }
  | { type: "ready"; what: string }
  | { type: "deleted"; object: string; existed: boolean; dryRun: boolean };

export type EventSink = (event: InstallEvent) => void;

export function eventRenderer(io: IOStreams): { sink: EventSink; close(): void } {
  let progress: Progress | undefined;
  const settle = (line?: string): void => {
    if (progress) {
      progress.done(line);
      progress = undefined;
    } else if (line) io.err.write(`${line}\n`);
  };
  const sink: EventSink = (event) => {
    switch (event.type) {
      // What each object became is the command's answer, on stdout as kubectl apply prints it.
      case "applied":
        settle();
        io.out.write(`${event.object} ${event.outcome}${event.note ? ` (${event.note})` : ""}${event.dryRun ? " (server dry run)" : ""}\n`);
        return;
      case "skipped":
        return settle(`${event.object} skipped: ${event.reason}`);
      case "deleted":
        return settle(`${event.object} ${event.dryRun ? "would be deleted" : event.existed ? "deleted" : "already gone"}`);
      case "ready":
        return settle(`${io.color.green("✓")} ${event.what}`);
      case "waiting":
        if (progress) progress.update(event.what);
        else progress = startProgress(io, event.what);
    }
  };
  return { sink, close: () => settle() };
}
