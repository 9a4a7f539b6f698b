/** Turns client-node and network failures into one-line ClusterErrors naming the object and the cause. */
import { ClusterError, KadaluError } from "../core/errors.js";

const NETWORK_CAUSES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  CERT_HAS_EXPIRED: "the server certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server certificate is self-signed and not trusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server certificate cannot be verified",
};

interface StatusBody {
  message?: string;
  reason?: string;
  code?: number;
}

function parseStatus(body: unknown): StatusBody {
  if (body && typeof body === "object") return body as StatusBody;
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body.trim() || undefined };
    }
  }
  return {};
}

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const STATUS_WORDS: Record<number, string> = {
  401: "the credentials in the kubeconfig were rejected (401 Unauthorized)",
  403: "forbidden",
  404: "not found",
  409: "conflict",
  422: "rejected as invalid",
  429: "the API server is throttling requests (429)",
  500: "internal error on the API server",
  503: "the API server is unavailable (503)",
  504: "the API server timed out (504)",
};

/**
 * @param what the object or action, e.g. `kadalustorage "pool1"` or `list nodes`.
 * @param server the API server URL, named when it cannot be reached.
 */
export function toClusterError(error: unknown, what: string, server: string): KadaluError {
  if (error instanceof KadaluError) return error;
  const status = (error as { code?: unknown }).code;
  if (typeof status === "number") {
    const body = parseStatus((error as { body?: unknown }).body);
    const words = status === 401 ? STATUS_WORDS[401]! : (body.message ?? STATUS_WORDS[status] ?? `HTTP ${status}`);
    return new ClusterError(`${what}: ${words}`, status, body.reason);
  }
  const code = networkCode(error);
  if (code) return new ClusterError(`cannot reach the cluster at ${server}: ${NETWORK_CAUSES[code] ?? code}`, undefined, code);
  // A WebSocket failure (exec) arrives as an ErrorEvent, not an Error: its message is still the reason.
  const message =
    error instanceof Error
      ? error.message
      : typeof (error as { message?: unknown })?.message === "string"
        ? (error as { message: string }).message
        : String(error);
  return new ClusterError(`${what}: ${message}`);
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown }).code === 404 || (error as ClusterError).status === 404;
}

export function isConflict(error: unknown): boolean {
  return (error as { code?: unknown }).code === 409 || (error as ClusterError).status === 409;
}
