/**
 * Whether `kubectl drain` can move a pool's bricks: the operator's PodDisruptionBudgets (one per replica
 * or disperse group) refuse an eviction that would take a group below what it survives. doctor names the
 * nodes whose drain a budget blocks right now, and why.
 */
import type { NativePoolInfo } from "../info/codec.js";
import { POOL_LABEL } from "../kube-vocabulary.js";
import { serverPodName } from "../naming.js";
import { isReady, replicated, type PodView } from "../upgrade/switch-over.js";
import type { Finding } from "./checks.js";

export interface DisruptionBudget {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { selector?: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } };
  status?: { disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number; expectedPods?: number };
}

const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
/** A `kubectl kadalu` command for the namespace doctor looked at (-n only when it is not the default). */
const kadalu = (ns: string, command: string): string => `kubectl kadalu ${command}${ns === "kadalu" ? "" : ` -n ${ns}`}`;

function labelOf(pod: PodView, key: string): string | undefined {
  return key === POD_NAME_LABEL ? pod.metadata?.name : (pod.metadata as { labels?: Record<string, string> } | undefined)?.labels?.[key];
}

/** matchLabels and the In/NotIn/Exists/DoesNotExist expressions, as the API server matches them. */
export function selects(budget: DisruptionBudget, pod: PodView): boolean {
  const selector = budget.spec?.selector;
  if (!selector) return false;
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labelOf(pod, key) === value);
  return (
    labelsMatch &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      const value = labelOf(pod, key);
      if (operator === "In") return value !== undefined && values.includes(value);
      if (operator === "NotIn") return value === undefined || !values.includes(value);
      if (operator === "Exists") return value !== undefined;
      return value === undefined;
    })
  );
}

/**
 * An eviction is refused when the budget allows no disruption: a ready pod always, a pod that is not
 * ready only while the group is below its healthy minimum (the default unhealthyPodEvictionPolicy).
 */
function blockedPods(budget: DisruptionBudget, pods: PodView[]): PodView[] {
  const status = budget.status;
  if (!status || (status.disruptionsAllowed ?? 0) > 0) return [];
  const belowMinimum = (status.currentHealthy ?? 0) < (status.desiredHealthy ?? 0);
  return pods.filter((pod) => pod.spec?.nodeName && (isReady(pod) || belowMinimum));
}

/** One finding per node whose drain `budget` refuses now, saying which brick pod would have to come back. */
function blockedDrains(namespace: string, pool: string, budget: DisruptionBudget, members: PodView[]): Finding[] {
  const blocked = blockedPods(budget, members);
  if (blocked.length === 0) return [];
  const downPods = members.filter((pod) => !isReady(pod));
  const down = downPods.map((pod) => pod.metadata?.name);
  const expected = budget.status?.expectedPods ?? members.length;
  const why = `PodDisruptionBudget ${budget.metadata?.name} allows no disruption: ${budget.status?.currentHealthy ?? 0}/${expected} brick pods of the group are ready, ${budget.status?.desiredHealthy ?? "?"} needed${down.length ? ` (not ready: ${down.join(", ")})` : ""}`;
  // An evicted brick waits Pending for its own node (its data is there) until that node is uncordoned: describe says so.
  const next =
    downPods[0]?.status?.phase === "Running"
      ? kadalu(namespace, `logs ${down[0]}`)
      : down[0]
        ? `kubectl -n ${namespace} describe pod ${down[0]}`
        : `kubectl -n ${namespace} describe poddisruptionbudget ${budget.metadata?.name}`;
  return [...new Set(blocked.map((pod) => pod.spec!.nodeName!))].sort().map((node) => {
    const held = blocked
      .filter((pod) => pod.spec?.nodeName === node)
      .map((pod) => pod.metadata?.name)
      .join(", ");
    return {
      severity: "warning",
      check: "drain",
      where: `node/${node}`,
      message: `kubectl drain ${node} is blocked: it cannot evict ${held} of pool ${pool}; ${why}`,
      next,
    };
  });
}

export function drainChecks(namespace: string, info: NativePoolInfo, pods: PodView[], budgets: DisruptionBudget[] | string): Finding[] {
  const where = `pool/${info.volname}`;
  const byName = new Map(pods.map((pod) => [pod.metadata?.name ?? "", pod]));
  const bricks = info.bricks.map((brick) => byName.get(serverPodName(info.volname, brick.brick_index))).filter((pod): pod is PodView => Boolean(pod));
  const nodes = [...new Set(bricks.map((pod) => pod.spec?.nodeName).filter(Boolean))].join(", ");
  if (!replicated(info)) {
    return [
      {
        severity: "ok",
        check: "drain",
        where,
        message: `no disruption budget (${info.type} keeps one copy): draining ${nodes ? `node ${nodes}` : "a node with its bricks"} takes the files on those bricks offline until the pods run again`,
      },
    ];
  }
  if (typeof budgets === "string")
    return [
      {
        severity: "warning",
        check: "drain",
        where,
        message: `disruption budgets not checked: ${budgets}`,
        next: `kubectl -n ${namespace} get poddisruptionbudgets -l ${POOL_LABEL}=${info.volname}`,
      },
    ];
  const mine = budgets.filter((budget) => budget.metadata?.labels?.[POOL_LABEL] === info.volname);
  if (mine.length === 0) {
    return [
      {
        severity: "warning",
        check: "drain",
        where,
        message:
          "no PodDisruptionBudget guards the bricks: kubectl drain may take two members of one group down at once (the operator adds them from this version on)",
        next: kadalu(namespace, "install --upgrade"),
      },
    ];
  }
  const findings = mine.flatMap((budget) =>
    blockedDrains(
      namespace,
      info.volname,
      budget,
      bricks.filter((pod) => selects(budget, pod)),
    ),
  );
  return findings.length
    ? findings
    : [
        {
          severity: "ok",
          check: "drain",
          where,
          message: `${mine.length} disruption budget${mine.length === 1 ? "" : "s"}: a drain takes at most what each group survives, and waits for the rest`,
        },
      ];
}
