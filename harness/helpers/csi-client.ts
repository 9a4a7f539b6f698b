/** A CSI client over the driver's unix socket, with promise-returning calls and gRPC codes on errors. */
import { credentials, Metadata, type Client, type ServiceClientConstructor, status as Status } from "@grpc/grpc-js";
import { csiPackage } from "../../csi/server.js";

export type Call = (method: string, request?: Record<string, unknown>) => Promise<any>;
export interface CsiClient {
  identity: Call;
  controller: Call;
  node: Call;
  /** A raw call to any method path, e.g. one our proto does not declare. */
  raw(path: string): Promise<{ code: number; details: string }>;
  close(): void;
}

export class CallError extends Error {
  constructor(
    readonly code: Status,
    readonly details: string,
  ) {
    super(`${Status[code]}: ${details}`);
  }
}

export function csiClient(endpoint: string): CsiClient {
  const csi = csiPackage();
  const make = (service: string): Client => new (csi[service] as ServiceClientConstructor)(endpoint, credentials.createInsecure());
  const clients = { identity: make("Identity"), controller: make("Controller"), node: make("Node") };
  const call =
    (client: Client): Call =>
    (method, request = {}) =>
      new Promise((resolve, reject) => {
        (client as any)[method](request, (error: { code: Status; details: string } | null, response: unknown) =>
          error ? reject(new CallError(error.code, error.details)) : resolve(response),
        );
      });
  return {
    identity: call(clients.identity),
    controller: call(clients.controller),
    node: call(clients.node),
    raw: (path) =>
      new Promise((resolve) => {
        clients.node.makeUnaryRequest(
          path,
          () => Buffer.alloc(0),
          (b: Buffer) => b,
          {},
          new Metadata(),
          (error) => resolve({ code: error?.code ?? 0, details: error?.details ?? "" }),
        );
      }),
    close: () => Object.values(clients).forEach((client) => client.close()),
  };
}
