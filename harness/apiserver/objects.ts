/**
 * Object semantics over the store: uid, creationTimestamp, generation (spec changes only), one
 * resourceVersion counter, optimistic concurrency, status subresource, finalizers and deletionTimestamp,
 * namespace and owner-reference cascades, CRD registration, schema pruning/validation, dry runs.
 */
import { randomUUID } from "node:crypto";
import { apiVersionOf, type Registry, type ResourceType, typesFromCrd } from "./resources.js";
import { applyDefaults, prune, validate } from "./schema.js";
import { alreadyExists, ApiStatus, badRequest, conflict, invalid, notFound } from "./status.js";
import type { KubeObject, Store } from "./store.js";

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const typeKey = (type: ResourceType): string => `${type.group}/${type.plural}`;

export interface WriteOptions {
  dryRun: boolean;
}

function withoutVolatile(object: KubeObject): unknown {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return rest;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export class Objects {
  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
  ) {}

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const object = this.store.get(typeKey(type), type.namespaced ? namespace : undefined, name);
    if (!object) throw notFound(type.plural, name, type.group);
    return object;
  }

  list(type: ResourceType, namespace?: string): KubeObject[] {
    return this.store.list(typeKey(type), type.namespaced ? namespace : undefined);
  }

  private checkBody(type: ResourceType, body: KubeObject, namespace: string | undefined): void {
    if (!body || typeof body !== "object" || !body.metadata || typeof body.metadata !== "object") {
      throw badRequest("the request body must be an object with metadata");
    }
    if (body.apiVersion && body.apiVersion !== apiVersionOf(type))
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(type)})`);
    if (body.kind && body.kind !== type.kind) throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${type.kind})`);
    if (type.namespaced && body.metadata.namespace && namespace && body.metadata.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
  }

  private validateObject(type: ResourceType, object: KubeObject): void {
    const name = object.metadata.name;
    if (!name) throw invalid(type.kind, "", [{ field: "metadata.name", message: "Required value: name or generateName is required" }], type.group);
    if (!NAME.test(name) || name.length > 253) {
      throw invalid(
        type.kind,
        name,
        [
          {
            field: "metadata.name",
            message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
          },
        ],
        type.group,
      );
    }
    if (type.schema) {
      prune(object, type.schema);
      applyDefaults(object, type.schema);
      const problems = validate(object, type.schema);
      if (problems.length > 0)
        throw invalid(
          type.kind,
          name,
          problems.map((problem) => ({ field: problem.path, message: problem.message })),
          type.group,
        );
    }
  }

  create(type: ResourceType, namespace: string | undefined, body: KubeObject, options: WriteOptions): KubeObject {
    this.checkBody(type, body, namespace);
    const object = structuredClone(body);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    if (!object.metadata.name && object.metadata.generateName) object.metadata.name = `${object.metadata.generateName}${randomUUID().slice(0, 5)}`;
    if (type.namespaced) {
      object.metadata.namespace = namespace ?? object.metadata.namespace ?? "default";
      const ns = this.store.get("/namespaces", undefined, object.metadata.namespace);
      if (!ns) throw notFound("namespaces", object.metadata.namespace);
      if (ns.metadata.deletionTimestamp)
        throw new ApiStatus(
          403,
          "Forbidden",
          `${type.plural} "${object.metadata.name}" is forbidden: unable to create new content in namespace ${object.metadata.namespace} because it is being terminated`,
        );
    } else delete object.metadata.namespace;
    if (type.status && type.custom) delete object.status;
    this.validateObject(type, object);
    if (this.store.get(typeKey(type), object.metadata.namespace, object.metadata.name)) throw alreadyExists(type.plural, object.metadata.name, type.group);
    object.metadata.uid = randomUUID();
    object.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    object.metadata.generation = 1;
    delete object.metadata.deletionTimestamp;
    delete object.metadata.resourceVersion;
    this.defaults(type, object);
    if (options.dryRun) return object;
    object.metadata.resourceVersion = String(this.store.nextRv());
    this.store.put(typeKey(type), object, "ADDED");
    this.afterWrite(type, object);
    return object;
  }

  private defaults(type: ResourceType, object: KubeObject): void {
    if (type.kind === "Namespace") object.status = { phase: "Active", ...(object.status ?? {}) };
    if (type.kind === "Pod") object.status = { phase: "Pending", ...(object.status ?? {}) };
    if (type.kind === "CustomResourceDefinition") this.establish(object);
  }

  /** Replaces an object, as PUT does; `subresource` "status" changes only the status. */
  update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: KubeObject,
    subresource: string | undefined,
    options: WriteOptions,
  ): KubeObject {
    this.checkBody(type, body, namespace);
    if (body.metadata.name && body.metadata.name !== name)
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    const current = this.get(type, namespace, name);
    const sent = body.metadata.resourceVersion;
    if (sent && sent !== current.metadata.resourceVersion) throw conflict(type.plural, name, type.group);
    return this.commit(type, current, structuredClone(body), subresource, options);
  }

  /** Stores `next` as the new version of `current`, keeping what the endpoint may not change. */
  // eslint-disable-next-line complexity -- the apiserver's rules for one update, in its order
  commit(type: ResourceType, current: KubeObject, next: KubeObject, subresource: string | undefined, options: WriteOptions): KubeObject {
    next.apiVersion = apiVersionOf(type);
    next.kind = type.kind;
    const meta = next.metadata ?? {};
    next.metadata = {
      ...meta,
      name: current.metadata.name,
      uid: current.metadata.uid,
      creationTimestamp: current.metadata.creationTimestamp,
      generation: current.metadata.generation,
      resourceVersion: current.metadata.resourceVersion,
      ...(type.namespaced ? { namespace: current.metadata.namespace } : {}),
      ...(current.metadata.deletionTimestamp ? { deletionTimestamp: current.metadata.deletionTimestamp, deletionGracePeriodSeconds: 0 } : {}),
    };
    if (!type.namespaced) delete next.metadata.namespace;
    if (subresource === "status") {
      const { status } = next;
      Object.assign(next, structuredClone({ ...current, status }));
      next.metadata = structuredClone(current.metadata);
    } else if (type.status) {
      if (current.status === undefined) delete next.status;
      else next.status = structuredClone(current.status);
    }
    if (current.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).some((f: string) => !(current.metadata.finalizers ?? []).includes(f))) {
      throw invalid(
        type.kind,
        current.metadata.name,
        [{ field: "metadata.finalizers", message: "Forbidden: no new finalizers can be added if the object is being deleted" }],
        type.group,
      );
    }
    this.validateObject(type, next);
    if (type.kind === "CustomResourceDefinition" && subresource !== "status") this.establish(next, current);
    const specChanged = !same(withoutVolatile(current), withoutVolatile(next)) || (!type.status && !same(current.status, next.status));
    if (specChanged) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    if (same(current, next)) return current;
    if (options.dryRun) return next;
    next.metadata.resourceVersion = String(this.store.nextRv());
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      this.removeNow(type, next);
      return next;
    }
    this.store.put(typeKey(type), next, "MODIFIED");
    this.afterWrite(type, next);
    return next;
  }

  /** DELETE: sets deletionTimestamp while finalizers remain, else removes (and cascades). */
  delete(type: ResourceType, namespace: string | undefined, name: string, options: WriteOptions & { preconditionUid?: string }): KubeObject {
    const current = this.get(type, namespace, name);
    if (options.preconditionUid && options.preconditionUid !== current.metadata.uid) throw conflict(type.plural, name, type.group);
    if (options.dryRun) return current;
    if (type.kind === "Namespace") return this.deleteNamespace(current);
    if ((current.metadata.finalizers ?? []).length > 0) {
      if (current.metadata.deletionTimestamp) return current;
      const next = structuredClone(current);
      next.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      next.metadata.deletionGracePeriodSeconds = 0;
      // As kube-apiserver does (found by the parity test): marking for deletion bumps generation.
      if (next.metadata.generation) next.metadata.generation += 1;
      next.metadata.resourceVersion = String(this.store.nextRv());
      this.store.put(typeKey(type), next, "MODIFIED");
      return next;
    }
    this.removeNow(type, current);
    return current;
  }

  private deleteNamespace(namespace: KubeObject): KubeObject {
    const name = namespace.metadata.name;
    const terminating = structuredClone(namespace);
    terminating.metadata.deletionTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, "Z");
    terminating.status = { ...(terminating.status ?? {}), phase: "Terminating" };
    terminating.metadata.resourceVersion = String(this.store.nextRv());
    this.store.put("/namespaces", terminating, "MODIFIED");
    for (const type of this.registry.all().filter((candidate) => candidate.namespaced)) {
      for (const object of this.list(type, name)) this.delete(type, name, object.metadata.name, { dryRun: false });
    }
    this.finishNamespace(name);
    return terminating;
  }

  private finishNamespace(name: string): void {
    const namespace = this.store.get("/namespaces", undefined, name);
    if (!namespace?.metadata.deletionTimestamp) return;
    const remaining = this.registry
      .all()
      .filter((type) => type.namespaced)
      .some((type) => this.list(type, name).length > 0);
    if (!remaining) this.store.remove("/namespaces", namespace);
  }

  private removeNow(type: ResourceType, object: KubeObject): void {
    this.store.remove(typeKey(type), object);
    if (type.kind === "CustomResourceDefinition") this.unregisterCrd(object);
    this.collectDependents(object.metadata.uid);
    if (type.namespaced && object.metadata.namespace) this.finishNamespace(object.metadata.namespace);
  }

  /** Background garbage collection: dependents go with their owner. */
  private collectDependents(ownerUid: string): void {
    for (const { typeKey: key, object } of this.store.allObjects()) {
      if (!(object.metadata.ownerReferences ?? []).some((ref: { uid: string }) => ref.uid === ownerUid)) continue;
      const type = this.registry.all().find((candidate) => typeKey(candidate) === key);
      if (type && this.store.get(key, object.metadata.namespace, object.metadata.name)) {
        this.delete(type, object.metadata.namespace, object.metadata.name, { dryRun: false });
      }
    }
  }

  /** As a real server: a condition that stays True keeps its lastTransitionTime (a re-apply changes nothing). */
  private establish(crd: KubeObject, previous?: KubeObject): void {
    const names = crd.spec?.names ?? {};
    const since = (type: string): string | undefined =>
      previous?.status?.conditions?.find((c: { type: string; status: string }) => c.type === type && c.status === "True")?.lastTransitionTime;
    const stamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    crd.status = {
      acceptedNames: names,
      storedVersions: (crd.spec?.versions ?? []).filter((v: any) => v.storage).map((v: any) => v.name),
      conditions: [
        { type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found", lastTransitionTime: since("NamesAccepted") ?? stamp },
        {
          type: "Established",
          status: "True",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
          lastTransitionTime: since("Established") ?? stamp,
        },
      ],
    };
  }

  private afterWrite(type: ResourceType, object: KubeObject): void {
    if (type.kind === "CustomResourceDefinition") this.registry.setCrdTypes(object.metadata.name, typesFromCrd(object));
  }

  private unregisterCrd(crd: KubeObject): void {
    for (const type of typesFromCrd(crd)) {
      for (const object of this.store.list(typeKey(type))) this.removeNow(type, object);
    }
    this.registry.removeCrdTypes(crd.metadata.name);
  }
}
