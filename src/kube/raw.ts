/**
 * Path-based requests for any resource, authenticated and TLS-configured by client-node's KubeConfig:
 * what the typed APIs cannot do without discovery round trips (server-side apply of arbitrary objects).
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { sharedAgent } from "./connection.js";

export interface RawResponse {
  status: number;
  body: unknown;
}

/** Shaped like client-node's ApiException, so one translation serves both paths. */
export class RawApiError extends Error {
  constructor(
    readonly code: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${code}`);
  }
}

/** How long a request may wait for its answer when nobody says otherwise (kubectl's --request-timeout). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export class RequestTimeout extends Error {
  constructor(
    readonly timeoutMs: number,
    request?: string,
  ) {
    super(`no answer from the API server within ${timeoutMs / 1000}s${request ? ` (${request})` : ""}`);
  }
}

export class RawClient {
  constructor(
    private readonly config: KubeConfig,
    private readonly server: string,
    private readonly timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  ) {}

  async request(
    method: string,
    path: string,
    options: { body?: unknown; contentType?: string; query?: Record<string, string | undefined> } = {},
  ): Promise<unknown> {
    return (await this.exchange(method, path, options)).body;
  }

  /** As `request`, with the HTTP status of the answer (an apply says 201 when it created the object). */
  async exchange(
    method: string,
    path: string,
    options: { body?: unknown; contentType?: string; query?: Record<string, string | undefined> } = {},
  ): Promise<RawResponse> {
    const url = new URL(`${this.server.replace(/\/$/, "")}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const requestOptions: Record<string, any> = { method, headers: { Accept: "application/json" } };
    await this.config.applyToHTTPSOptions(requestOptions);
    if (url.protocol === "https:") requestOptions.agent = sharedAgent(this.config, requestOptions.agent);
    else delete requestOptions.agent;
    if (payload !== undefined) {
      requestOptions.headers["Content-Type"] = options.contentType ?? "application/json";
      // Node sends DELETE bodies without chunked encoding: the length must be given.
      requestOptions.headers["Content-Length"] = Buffer.byteLength(payload);
    }
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const response = await new Promise<RawResponse>((resolve, reject) => {
      const req = send(url, requestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: keep the text for the error message
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", reject);
      });
      // A deadline on the whole exchange: a server that accepts and never answers does not wedge the caller.
      const timer = setTimeout(() => req.destroy(new RequestTimeout(this.timeoutMs, `${method} ${path}`)), this.timeoutMs);
      req.on("close", () => clearTimeout(timer));
      req.on("error", reject);
      req.end(payload);
    });
    if (response.status >= 400) throw new RawApiError(response.status, response.body);
    return response;
  }
}
