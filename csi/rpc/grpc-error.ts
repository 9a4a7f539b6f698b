/** gRPC errors created where the reason is known, one line each. */
import { status as Status } from "@grpc/grpc-js";

export { Status };

export class GrpcError extends Error {
  constructor(
    readonly code: Status,
    message: string,
  ) {
    super(message);
  }
}

export const grpcError = (code: Status, message: string): GrpcError => new GrpcError(code, message);
