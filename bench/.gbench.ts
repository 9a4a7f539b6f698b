const { glusterCsiScenarios } = await import("/work/main/bench/csi.ts");
for (const row of await glusterCsiScenarios()) console.log(row.join("  |  "));
