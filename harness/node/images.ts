/**
 * The node tier's own images, with no registry and no base image. The pause image: a static binary from a
 * few lines of C that prints its arguments (one per line, so a test can read them back as container logs),
 * then sleeps, reaps children and exits on TERM or INT; the CRI's sandbox image and the tier's plain
 * container. And one-binary images of the static CSI sidecars.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { writeImage } from "../../images/oci.js";

export const PAUSE_REPOSITORY = "kadalu.test/pause";
export const PAUSE_TAG = "1";
export const PAUSE_IMAGE = `${PAUSE_REPOSITORY}:${PAUSE_TAG}`;

const SOURCE = `#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
static void quit(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) puts(argv[i]);
  fflush(stdout);
  signal(SIGTERM, quit);
  signal(SIGINT, quit);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
`;

/** Compiles the binary and writes `pause.oci.tar` into `dir`; returns the archive's path. */
export function buildPauseImage(gcc: string, dir: string): string {
  const root = join(dir, "rootfs");
  mkdirSync(root, { recursive: true });
  writeFileSync(join(dir, "pause.c"), SOURCE);
  execFileSync(gcc, ["-static", "-O2", "-s", "-o", join(root, "pause"), join(dir, "pause.c")], { stdio: ["ignore", "ignore", "pipe"] });
  chmodSync(join(root, "pause"), 0o755);
  return writeImage(
    dir,
    "pause",
    PAUSE_TAG,
    [{ dir: root, comment: "a static pause binary" }],
    { entrypoint: ["/pause"], user: "0", env: {}, workingDir: "/", labels: {} },
    1_700_000_000,
  ).archive;
}

/**
 * An image of one static binary (the CSI sidecars from ../shared/k8s), its entrypoint `/NAME`, written as
 * `NAME.oci.tar` into `dir` with the tag given; returns the archive's path.
 */
export function buildBinaryImage(binary: string, name: string, tag: string, dir: string): string {
  const root = join(dir, `${name}-rootfs`);
  mkdirSync(root, { recursive: true });
  copyFileSync(binary, join(root, name));
  chmodSync(join(root, name), 0o755);
  return writeImage(
    dir,
    name,
    tag,
    [{ dir: root, comment: `the static ${basename(binary)} binary` }],
    { entrypoint: [`/${name}`], user: "0", env: {}, workingDir: "/", labels: {} },
    1_700_000_000,
  ).archive;
}
