/**
 * The options volgen knows by name (kadalu/volgen src/supported_options.cr): which xlator each sets, under
 * which option name (none: the option turns the xlator on or off), and in which volfile type only.
 * Any other `xlator.option` key applies to the xlator of that type or name when the graph has one.
 */
export interface OptionConfig {
  xlator: string;
  name?: string;
  type?: "client" | "storage_unit";
  allowed?: readonly string[];
}

const LOG_LEVELS = ["info", "error", "debug"] as const;
const ON_OFF = ["on", "off", "enable", "disable", "yes", "no"] as const;

const brickLogLevel: OptionConfig = { type: "storage_unit", name: "log-level", xlator: "debug/io-stats", allowed: LOG_LEVELS };

export const OPTION_CONFIGS: Record<string, OptionConfig> = {
  "diagnostics.client-log-level": { type: "client", name: "log-level", xlator: "debug/io-stats", allowed: LOG_LEVELS },
  "diagnostics.brick-log-level": brickLogLevel,
  "diagnostics.storage-unit-log-level": brickLogLevel,
  "performance.open-behind": { xlator: "performance/open-behind", allowed: ON_OFF },
  "performance.write-behind": { xlator: "performance/write-behind", allowed: ON_OFF },
  "performance.stat-prefetch": { xlator: "performance/md-cache", allowed: ON_OFF },
  "performance.quick-read": { xlator: "performance/quick-read", allowed: ON_OFF },
  "performance.read-ahead": { xlator: "performance/read-ahead", allowed: ON_OFF },
  "client.event-threads": { xlator: "protocol/client", name: "event-threads" },
  "server.event-threads": { xlator: "protocol/server", name: "event-threads" },
  "performance.strict-o-direct": { xlator: "performance/write-behind", name: "strict-O_DIRECT", allowed: ON_OFF },
  "performance.io-cache": { xlator: "performance/io-cache", allowed: ON_OFF },
  "performance.readdir-ahead": { xlator: "performance/readdir-ahead", allowed: ON_OFF },
  "performance.client-io-threads": { type: "client", xlator: "performance/io-threads", allowed: ON_OFF },
  "performance.read-after-open": { xlator: "performance/open-behind", name: "read-after-open", allowed: ON_OFF },
};
