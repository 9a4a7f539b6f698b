/**
 * What goes into a support bundle, pure: the summary a human reads first, the scrubbing every file gets
 * (the --redact words, and anything shaped like a bearer token), and objects stripped of what only
 * clutters them. Secrets are never read, so none can be written; the scrubber is the second line.
 */
import type { Finding } from "./checks.js";
import { counted } from "../words.js";

const TOKEN = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;

export function scrubber(redact: string[]): (text: string) => string {
  const words = [...new Set(redact.filter(Boolean))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text.replace(TOKEN, "[REDACTED-TOKEN]");
    for (const word of words) out = out.split(word).join("[REDACTED]");
    return out;
  };
}

/** An object as a reader wants it: no managedFields, no last-applied annotation (a second copy of the spec). */
export function tidy<T extends { metadata?: Record<string, any> }>(object: T): T {
  const metadata = { ...(object.metadata ?? {}) };
  delete metadata.managedFields;
  if (metadata.annotations) {
    const annotations = { ...metadata.annotations };
    delete annotations["kubectl.kubernetes.io/last-applied-configuration"];
    metadata.annotations = annotations;
  }
  return { ...object, metadata };
}

/** The last `maxBytes` of a log, cut at a line start, saying how much was left out. */
export function boundLog(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return text;
  let kept = bytes.subarray(bytes.length - maxBytes).toString();
  const newline = kept.indexOf("\n");
  if (newline >= 0 && newline < kept.length - 1) kept = kept.slice(newline + 1);
  return `[... ${bytes.length - Buffer.byteLength(kept)} earlier bytes left out (--max-log-bytes ${maxBytes})]\n${kept}`;
}

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function summaryMarkdown(input: {
  createdAt: string;
  pluginVersion: string;
  kubernetes: string;
  namespace: string;
  findings: Finding[];
  files: string[];
}): string {
  const count = (severity: string): number => input.findings.filter((finding) => finding.severity === severity).length;
  const lines = [
    "# Kadalu support bundle",
    "",
    `- created: ${input.createdAt}`,
    `- plugin: ${input.pluginVersion}`,
    `- Kubernetes: ${input.kubernetes}`,
    `- namespace: ${input.namespace}`,
    `- doctor: ${count("critical")} critical, ${counted(count("warning"), "warning")}, ${count("ok")} ok (doctor.json has every finding)`,
    "",
    "## Findings",
    "",
    "| severity | check | where | finding | next |",
    "|---|---|---|---|---|",
    ...[...input.findings]
      .sort((a, b) => rank(a.severity) - rank(b.severity))
      .map((f) => `| ${f.severity} | ${cell(f.check)} | ${cell(f.where)} | ${cell(f.message)} | ${f.next ? `\`${cell(f.next)}\`` : ""} |`),
    "",
    "## Contents",
    "",
    ...input.files.map((file) => `- ${file}`),
    "",
    "Secrets and service-account tokens are never collected.",
    "",
  ];
  return lines.join("\n");
}

const rank = (severity: string): number => (severity === "critical" ? 0 : severity === "warning" ? 1 : 2);
