/** The plugin's version, set by the bundler from package.json (tests run the sources: "0.0.0-dev"). */
declare const __KADALU_VERSION__: string | undefined;

export const PLUGIN_VERSION: string = typeof __KADALU_VERSION__ === "string" ? __KADALU_VERSION__ : "0.0.0-dev";
