/** Identity service: who we are, what we can do, whether we are ready (pool information readable). */
import type { Driver, ServiceHandlers } from "./driver.js";

export function identityService(driver: Driver): ServiceHandlers {
  return {
    GetPluginInfo: async () => ({ name: driver.config.name, vendor_version: driver.config.version, manifest: {} }),
    GetPluginCapabilities: async () => ({
      capabilities: [{ service: { type: "CONTROLLER_SERVICE" } }, { volume_expansion: { type: "ONLINE" } }],
    }),
    Probe: async () => ({ ready: { value: driver.ready() } }),
  };
}
