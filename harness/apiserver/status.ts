/** Every API error leaves as a `Status` object with its reason and code, as the API conventions define. */

export class ApiStatus extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export const notFound = (resource: string, name: string, group = ""): ApiStatus =>
  new ApiStatus(404, "NotFound", `${resource}${group ? `.${group}` : ""} "${name}" not found`, { name, group, kind: resource });

export const alreadyExists = (resource: string, name: string, group = ""): ApiStatus =>
  new ApiStatus(409, "AlreadyExists", `${resource}${group ? `.${group}` : ""} "${name}" already exists`, { name, group, kind: resource });

export const conflict = (resource: string, name: string, group = ""): ApiStatus =>
  new ApiStatus(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${resource}${group ? `.${group}` : ""} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group, kind: resource },
  );

export const invalid = (kind: string, name: string, causes: { field: string; message: string }[], group = ""): ApiStatus =>
  new ApiStatus(
    422,
    "Invalid",
    `${kind}${group ? `.${group}` : ""} "${name}" is invalid: ${causes.map((cause) => `${cause.field}: ${cause.message}`).join(", ")}`,
    {
      name,
      group,
      kind,
      causes: causes.map((cause) => ({ reason: "FieldValueInvalid", message: cause.message, field: cause.field })),
    },
  );

export const badRequest = (message: string): ApiStatus => new ApiStatus(400, "BadRequest", message);

export const SUCCESS = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" };
