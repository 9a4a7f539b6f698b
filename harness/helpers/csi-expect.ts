/** Assertions on CSI calls: the gRPC code a call fails with, and its details. */
import { status as Status } from "@grpc/grpc-js";
import { expect } from "vitest";
import { CallError } from "./csi-client.js";

export async function expectCode(promise: Promise<unknown>, code: Status, details?: string | RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: CallError) => e,
  );
  expect(error, "the call should fail").toBeInstanceOf(CallError);
  expect(Status[error!.code]).toBe(Status[code]);
  if (details) expect(error!.details).toMatch(details);
}
