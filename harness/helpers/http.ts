/** Raw HTTPS requests to the API test server, trusting its test CA. */
import { request as httpsRequest } from "node:https";
import { TEST_CA, type ApiServer } from "../apiserver/server.js";

export interface HttpResult {
  status: number;
  body: any;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export function api(
  server: ApiServer,
  method: string,
  path: string,
  body?: unknown,
  options: { contentType?: string; token?: string | null; accept?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  const url = new URL(path, server.url);
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const headers: Record<string, string> = { Accept: options.accept ?? "application/json" };
  if (options.token !== null) headers.Authorization = `Bearer ${options.token ?? server.token}`;
  if (payload !== undefined) headers["Content-Type"] = options.contentType ?? "application/json";
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca: TEST_CA, timeout: options.timeoutMs }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON (logs, watch streams)
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: res.headers });
      });
    });
    req.on("timeout", () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end(payload);
  });
}
