/** grpc-js wiring: the project's proto, one logging wrapper, errors to gRPC status codes, a unix socket. */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Server,
  ServerCredentials,
  loadPackageDefinition,
  type GrpcObject,
  type ServiceClientConstructor,
  type sendUnaryData,
  type ServerUnaryCall,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { controllerService } from "./controller.js";
import type { Driver } from "./driver.js";
import { GrpcError, Status } from "./rpc/grpc-error.js";
import { identityService } from "./identity.js";
import { nodeService } from "./node.js";

export const PROTO_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

/** The proto beside the bundle (dist/csi.proto) or in the source tree. */
export function protoPath(): string {
  const here = typeof __filename === "string" ? dirname(__filename) : dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "csi.proto"), join(here, "proto", "csi.proto"), join(here, "..", "csi", "proto", "csi.proto")];
  return candidates.find((path) => existsSync(path)) ?? candidates[1]!;
}

export function csiPackage(): GrpcObject {
  return (loadPackageDefinition(loadSync(protoPath(), PROTO_OPTIONS)).csi as GrpcObject).v1 as GrpcObject;
}

type Handler = (request: any) => Promise<unknown>;
/** Told of every call: method, gRPC status name and seconds (the metrics). */
export type CallObserver = (method: string, code: string, seconds: number) => void;

function unary(method: string, handler: Handler, log: (message: string) => void, observe?: CallObserver) {
  return (call: ServerUnaryCall<any, any>, callback: sendUnaryData<any>): void => {
    const started = performance.now();
    // Only the method, the volume id and the outcome are logged: requests may carry secrets.
    const given = String(call.request?.volume_id || call.request?.name || "");
    // A name refused for its control characters is logged quoted, so it cannot forge log lines.
    const id = /[\u0000-\u001f\u007f]/.test(given) ? JSON.stringify(given) : given;
    handler(call.request).then(
      (response) => {
        const ms = performance.now() - started;
        log(`${method}${id ? ` ${id}` : ""} OK ${Math.round(ms)}ms`);
        observe?.(method, "OK", ms / 1000);
        callback(null, response);
      },
      (error: Error) => {
        const code = error instanceof GrpcError ? error.code : Status.INTERNAL;
        log(`${method}${id ? ` ${id}` : ""} ${Status[code]}: ${error.message}`);
        observe?.(method, Status[code] ?? String(code), (performance.now() - started) / 1000);
        callback({ code, details: error.message, name: "", message: error.message });
      },
    );
  };
}

function wrap(service: Record<string, Handler>, log: (message: string) => void, observe?: CallObserver): Record<string, ReturnType<typeof unary>> {
  return Object.fromEntries(Object.entries(service).map(([method, handler]) => [method, unary(method, handler, log, observe)]));
}

/** Serves Identity, Controller and Node on `endpoint` (unix:///path/csi.sock). */
export async function serve(driver: Driver, endpoint: string, observe?: CallObserver): Promise<Server> {
  const csi = csiPackage();
  const server = new Server();
  const log = (message: string): void => driver.log(message);
  server.addService((csi.Identity as ServiceClientConstructor).service, wrap(identityService(driver), log, observe));
  server.addService((csi.Controller as ServiceClientConstructor).service, wrap(controllerService(driver), log, observe));
  server.addService((csi.Node as ServiceClientConstructor).service, wrap(nodeService(driver), log, observe));
  const socket = endpoint.replace(/^unix:\/\//, "");
  if (!endpoint.startsWith("unix://") || !socket.startsWith("/")) throw new Error(`endpoint ${endpoint} must be unix:///absolute/path`);
  mkdirSync(dirname(socket), { recursive: true });
  rmSync(socket, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
  return server;
}

export function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => server.tryShutdown(() => resolve()));
}
