/** Tests that build on each other: after a failure the rest are skipped (saying which failed), not failed again. */
import { it } from "vitest";

export function stepper(timeoutMs?: number): (name: string, body: () => Promise<void>) => void {
  let failed: string | undefined;
  return (name, body) => {
    it(name, async (context) => {
      if (failed) context.skip(`an earlier step failed: ${failed}`);
      try {
        await body();
      } catch (error) {
        failed = name;
        throw error;
      }
    }, timeoutMs);
  };
}
