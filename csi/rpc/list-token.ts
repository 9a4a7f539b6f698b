/** Stateless, verifiable list tokens (ListVolumes, ListSnapshots): the last id returned, with a checksum. */
import { xxh64Hex } from "../../src/core/xxh64.js";
import { grpcError, Status } from "./grpc-error.js";

export const listToken = (lastId: string): string => `${Buffer.from(lastId).toString("base64url")}.${xxh64Hex(`kadalu-list:${lastId}`).slice(0, 12)}`;

/** The id a token continues after ("" for none); a token this driver did not give is ABORTED, as the spec asks. */
export function tokenStart(token: string): string {
  if (!token) return "";
  const [encoded, check] = token.split(".");
  const lastId = Buffer.from(encoded ?? "", "base64url").toString();
  if (!lastId || check !== xxh64Hex(`kadalu-list:${lastId}`).slice(0, 12)) throw grpcError(Status.ABORTED, `starting_token "${token}" is not valid`);
  return lastId;
}
