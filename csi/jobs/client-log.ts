/**
 * The Gluster FUSE clients' log, made visible and bounded: every new line of the file the clients write
 * (`-l /var/log/gluster/gluster.log`, an emptyDir that `kubectl logs` never shows) is passed to the
 * driver's own log with a `gluster:` prefix, and once the file has grown past `maxBytes` and been read
 * to its end it is truncated. The clients open it for appending (O_APPEND), so they go on writing at
 * the new end, and the file never holds much more than `maxBytes`. (As with logrotate's copytruncate,
 * only what a client writes between the last read and the truncation, microseconds apart, is lost.)
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readSync } from "node:fs";

export const DEFAULT_CLIENT_LOG_MAX_BYTES = 8 * 1024 * 1024;
const CHUNK = 64 * 1024;
/** A line longer than this is passed on in pieces (a client that never writes a newline cannot grow memory). */
const MAX_LINE = 16 * 1024;

export class ClientLogFollower {
  private offset = 0;
  private partial = "";
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly path: string,
    private readonly write: (line: string) => void,
    private readonly maxBytes = DEFAULT_CLIENT_LOG_MAX_BYTES,
  ) {}

  start(intervalMs = 1000): this {
    this.timer = setInterval(() => this.poll(), intervalMs);
    this.timer.unref();
    return this;
  }

  /** Reads what is new (and truncates the file when it is over the bound); returns how many lines went out. */
  poll(): number {
    let fd: number;
    try {
      fd = openSync(this.path, "r+");
    } catch {
      return 0; // no client has mounted yet
    }
    let lines = 0;
    try {
      const size = fstatSync(fd).size;
      // Truncated or replaced by someone else: start from its beginning.
      if (size < this.offset) this.offset = 0;
      const buffer = Buffer.allocUnsafe(CHUNK);
      for (let read = 1; read > 0 && this.offset < size;) {
        read = readSync(fd, buffer, 0, Math.min(CHUNK, size - this.offset), this.offset);
        this.offset += read;
        lines += this.emit(buffer.toString("utf8", 0, read));
      }
      if (this.offset >= this.maxBytes && this.offset >= fstatSync(fd).size) {
        ftruncateSync(fd, 0);
        this.offset = 0;
        this.write(`the Gluster client log passed ${this.maxBytes} bytes and was truncated (every line above was passed on first)`);
      }
    } finally {
      closeSync(fd);
    }
    return lines;
  }

  private emit(text: string): number {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop()!;
    while (this.partial.length > MAX_LINE) {
      parts.push(this.partial.slice(0, MAX_LINE));
      this.partial = this.partial.slice(MAX_LINE);
    }
    let count = 0;
    for (const line of parts) {
      if (!line) continue;
      this.write(`gluster: ${line}`);
      count += 1;
    }
    return count;
  }

  /** A last read, then no more polling. */
  stop(): void {
    clearInterval(this.timer);
    this.poll();
  }
}
