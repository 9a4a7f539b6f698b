/**
 * The gluster-style layout syntax of `storage-add` (upstream's `storage_add_parser.py`), e.g. `replica 3 n1:/d n2:/d n3:/d`,
 * `mirror n1:/d n2:/d arbiter n3:/d`, `disperse-data 2 redundancy 1 ...`, `external host:/vol`.
 *
 * Two styles: counts first (`<keyword> <count>...` then units, split into equal groups), or keyword
 * groups (`replica u1 u2 replica u3 u4`). One forward pass over the tokens, so every input terminates;
 * unlike upstream, disperse groups of any size are recognised and groups of different shapes are refused.
 */
import { UsageError } from "../errors.js";
import type { DisperseConfig, PoolType } from "./types.js";
import { counted } from "../words.js";

const KEYWORDS = ["replica", "mirror", "arbiter", "disperse", "disperse-data", "redundancy", "external"] as const;
type Keyword = (typeof KEYWORDS)[number];

type Token = { kind: "keyword"; value: Keyword } | { kind: "count"; value: number; text: string } | { kind: "unit"; value: string };

export interface GlusterLayout {
  type: PoolType;
  units: string[];
  disperse?: DisperseConfig;
}

interface GroupShape {
  type: PoolType;
  size: number;
  disperse?: DisperseConfig;
}

function tokenize(args: string[]): Token[] {
  return args.map((arg): Token => {
    if ((KEYWORDS as readonly string[]).includes(arg)) return { kind: "keyword", value: arg as Keyword };
    if (/^\d+$/.test(arg)) return { kind: "count", value: Number(arg), text: arg };
    return { kind: "unit", value: arg };
  });
}

export function parseGlusterSyntax(args: string[]): GlusterLayout {
  const tokens = tokenize(args);
  const [first, second] = tokens;
  if (!first) throw new UsageError("no storage units given");
  if (first.kind === "keyword" && second?.kind === "count") return parseCountForm(tokens);
  if (first.kind === "count") throw new UsageError(`unexpected count "${first.text}": a count follows a keyword, as in "replica 3"`);
  return parseGroupForm(tokens);
}

// ---- counts first: `replica 3 u1 ... u6`, `disperse 3 redundancy 1 u1 u2 u3` ----

function parseCountForm(tokens: Token[]): GlusterLayout {
  const counts = new Map<Keyword, number>();
  let index = 0;
  for (; index < tokens.length; index += 2) {
    const keyword = tokens[index];
    const count = tokens[index + 1];
    if (keyword?.kind !== "keyword") break;
    if (count?.kind !== "count") {
      throw new UsageError(`"${keyword.value}" needs a count here, as in "${keyword.value} 3": counts come before the storage units`);
    }
    if (counts.has(keyword.value)) throw new UsageError(`"${keyword.value}" is given twice`);
    counts.set(keyword.value, count.value);
  }
  const units = tokens.slice(index).map((token) => {
    if (token.kind === "unit") return token.value;
    const text = token.kind === "count" ? token.text : token.value;
    throw new UsageError(`unexpected "${text}" among the storage units: keywords and counts go first, as in "replica 3 n1:/d n2:/d n3:/d"`);
  });
  if (units.length === 0) throw new UsageError("no storage units given after the counts");
  const shape = shapeFromCounts(counts);
  if (units.length % shape.size !== 0) {
    throw new UsageError(
      `${counted(units.length, "storage unit")} cannot be split into groups of ${shape.size} (${describe(shape)}); give a multiple of ${shape.size}`,
    );
  }
  return layout(shape, units);
}

function shapeFromCounts(counts: Map<Keyword, number>): GroupShape {
  if (counts.has("external")) throw new UsageError(`"external" takes one HOST:/VOLUME, not a count`);
  const replicated = counts.has("replica") || counts.has("mirror") || counts.has("arbiter");
  const dispersed = counts.has("disperse") || counts.has("disperse-data") || counts.has("redundancy");
  if (replicated && dispersed) throw new UsageError("a pool is either replicated or dispersed: do not mix replica/mirror/arbiter with disperse keywords");
  if (dispersed) return disperseShape(counts.get("disperse"), counts.get("disperse-data"), counts.get("redundancy"));
  if (counts.has("replica") && counts.has("mirror")) throw new UsageError(`give either "replica" or "mirror", not both`);
  const replica = counts.get("replica") ?? counts.get("mirror");
  if (replica === undefined) throw new UsageError(`"arbiter" needs "replica 2" or "mirror 2" before it`);
  return replicaShape(replica, counts.get("arbiter") ?? 0, true);
}

function replicaShape(replica: number, arbiter: number, countForm: boolean): GroupShape {
  if (arbiter > 0) {
    if (arbiter !== 1) throw new UsageError(`an arbiter group has exactly one arbiter, got ${arbiter}`);
    // `replica 3 arbiter 1` (gluster's form: 3 bricks, one an arbiter) or `replica 2 arbiter 1` / `mirror u1 u2 arbiter u3`.
    const valid = replica === 2 || (countForm && replica === 3);
    if (!valid) throw new UsageError(`an arbiter group is two data bricks plus one arbiter ("replica 2 arbiter 1"), got replica ${replica}`);
    return { type: "Arbiter", size: 3 };
  }
  if (replica < 1 || replica > 3) throw new UsageError(`a replica group holds 1, 2 or 3 storage units, got ${replica}`);
  return { type: `Replica${replica}` as PoolType, size: replica };
}

function disperseShape(total?: number, data?: number, redundancy?: number): GroupShape {
  let shape: DisperseConfig | undefined;
  if (data !== undefined && redundancy !== undefined) shape = { data, redundancy };
  else if (total !== undefined && data !== undefined) shape = { data, redundancy: total - data };
  else if (total !== undefined && redundancy !== undefined) shape = { data: total - redundancy, redundancy };
  if (!shape) {
    throw new UsageError(`a disperse layout needs two of "disperse N", "disperse-data N" and "redundancy N", as in "disperse 3 redundancy 1"`);
  }
  if (total !== undefined && total !== shape.data + shape.redundancy) {
    throw new UsageError(`disperse ${total} does not equal disperse-data ${shape.data} + redundancy ${shape.redundancy}`);
  }
  if (shape.data <= 0 || shape.redundancy <= 0) {
    throw new UsageError(`a disperse layout needs at least one data and one redundancy unit (got data ${shape.data}, redundancy ${shape.redundancy})`);
  }
  return { type: "Disperse", size: shape.data + shape.redundancy, disperse: shape };
}

// ---- keyword groups: `replica u1 u2 u3 replica u4 u5 u6`, `mirror u1 u2 arbiter u3` ----

interface RawGroup {
  sections: Map<Keyword, string[]>;
  order: Keyword[];
}

function parseGroupForm(tokens: Token[]): GlusterLayout {
  if (tokens.every((token) => token.kind === "unit")) {
    const units = tokens.map((token) => (token as { value: string }).value);
    return { type: "Replica1", units };
  }
  const groups = splitGroups(tokens);
  const shapes = groups.map((group, index) => shapeOfGroup(group, index + 1));
  const [firstShape] = shapes;
  if (!firstShape) throw new UsageError("no storage units given");
  shapes.forEach((shape, index) => {
    if (!sameShape(shape, firstShape)) {
      throw new UsageError(`group ${index + 1} is ${describe(shape)} but group 1 is ${describe(firstShape)}: every group of a pool must have the same shape`);
    }
  });
  if (firstShape.type === "External" && groups.length > 1) throw new UsageError(`"external" can be given only once`);
  const units = groups.flatMap((group) => group.order.flatMap((keyword) => group.sections.get(keyword) ?? []));
  return layout(firstShape, units);
}

/** Group starters open a new group; the other keywords add a section to the current one. */
const STARTERS: Record<Keyword, boolean> = {
  replica: true,
  mirror: true,
  disperse: true,
  "disperse-data": true,
  external: true,
  arbiter: false,
  redundancy: false,
};
const FOLLOWS: Partial<Record<Keyword, Keyword[]>> = {
  arbiter: ["replica", "mirror"],
  redundancy: ["disperse", "disperse-data"],
};

function splitGroups(tokens: Token[]): RawGroup[] {
  const groups: RawGroup[] = [];
  let current: RawGroup | undefined;
  let section: string[] | undefined;
  for (const token of tokens) {
    if (token.kind === "count") {
      throw new UsageError(`unexpected count "${token.text}": counts only go at the start, as in "replica 3 n1:/d n2:/d n3:/d"`);
    }
    if (token.kind === "unit") {
      if (!section) throw new UsageError(`storage unit "${token.value}" comes before any keyword: start with "replica", "disperse-data", ...`);
      section.push(token.value);
      continue;
    }
    const keyword = token.value;
    const allowedAfter = FOLLOWS[keyword];
    const opensGroup = STARTERS[keyword] || !current || current.sections.has(keyword);
    if (opensGroup && !STARTERS[keyword]) {
      throw new UsageError(`"${keyword}" must follow ${allowedAfter?.map((k) => `"${k}"`).join(" or ")} units`);
    }
    if (!opensGroup && allowedAfter && !allowedAfter.includes(current!.order[0]!)) {
      throw new UsageError(`"${keyword}" cannot follow "${current!.order[0]}"`);
    }
    if (opensGroup) {
      current = { sections: new Map(), order: [] };
      groups.push(current);
    }
    section = [];
    current!.sections.set(keyword, section);
    current!.order.push(keyword);
  }
  for (const group of groups) {
    for (const keyword of group.order) {
      if ((group.sections.get(keyword) ?? []).length === 0) throw new UsageError(`"${keyword}" has no storage units after it`);
    }
  }
  return groups;
}

function shapeOfGroup(group: RawGroup, number: number): GroupShape {
  const count = (keyword: Keyword): number | undefined => group.sections.get(keyword)?.length;
  const starter = group.order[0]!;
  if (starter === "external") {
    if (count("external") !== 1) throw new UsageError(`"external" takes exactly one HOST[,HOST...]:/VOLUME`);
    return { type: "External", size: 1 };
  }
  if (starter === "replica" || starter === "mirror") {
    const replica = count(starter)!;
    if (replica > 3) throw new UsageError(`group ${number}: a replica group holds 1, 2 or 3 storage units, got ${replica}`);
    return replicaShape(replica, count("arbiter") ?? 0, false);
  }
  if (count("redundancy") === undefined) {
    throw new UsageError(`group ${number}: a disperse group needs "redundancy" units, as in "disperse-data u1 u2 redundancy u3"`);
  }
  const data = starter === "disperse-data" ? count("disperse-data") : undefined;
  const total = starter === "disperse" ? count("disperse")! + count("redundancy")! : undefined;
  return disperseShape(total, data, count("redundancy"));
}

function sameShape(a: GroupShape, b: GroupShape): boolean {
  return a.type === b.type && a.size === b.size && a.disperse?.data === b.disperse?.data;
}

function describe(shape: GroupShape): string {
  if (shape.type === "Disperse") return `Disperse ${shape.disperse!.data}+${shape.disperse!.redundancy}`;
  return `${shape.type} (${counted(shape.size, "unit")})`;
}

function layout(shape: GroupShape, units: string[]): GlusterLayout {
  return shape.disperse ? { type: shape.type, units, disperse: shape.disperse } : { type: shape.type, units };
}
