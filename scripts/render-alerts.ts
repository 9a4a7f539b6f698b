/** Writes dashboards/kadalu-alerts.yaml (a Prometheus rule file) from the alert rules in src/core/metrics/alerts.ts. */
import { writeFileSync } from "node:fs";
import { alertRuleFile } from "../src/core/metrics/alerts.js";

writeFileSync(new URL("../dashboards/kadalu-alerts.yaml", import.meta.url), alertRuleFile());
