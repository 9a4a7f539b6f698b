/**
 * The harness's own small API client (admin or any token): the harness plays kubelet and the test's
 * hands, so it does not go through the project's Kubernetes edge it is testing.
 */
import { request } from "node:https";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: any,
    method: string,
    path: string,
  ) {
    super(`${method} ${path}: HTTP ${status}: ${typeof body === "object" ? (body?.message ?? JSON.stringify(body)) : body}`);
  }
}

export class Api {
  constructor(
    readonly server: string,
    readonly token: string,
    readonly ca: string,
  ) {}

  async call<T = any>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        `${this.server}${path}`,
        {
          method,
          ca: this.ca,
          timeout: 30_000,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: "application/json",
            ...(payload !== undefined ? { "Content-Type": contentType, "Content-Length": Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: any = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON
            }
            if ((res.statusCode ?? 500) >= 400) reject(new ApiError(res.statusCode ?? 500, parsed, method, path));
            else resolve(parsed as T);
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  get<T = any>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  /** The object, or undefined on 404. */
  async find<T = any>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  post<T = any>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }

  merge<T = any>(path: string, patch: unknown): Promise<T> {
    return this.call<T>("PATCH", path, patch, "application/merge-patch+json");
  }

  delete<T = any>(path: string, options: Record<string, unknown> = {}): Promise<T> {
    return this.call<T>("DELETE", path, { kind: "DeleteOptions", apiVersion: "v1", ...options });
  }
}
