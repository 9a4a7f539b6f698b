/** Cluster-facing benchmark scenarios, added by later capabilities. */
export async function scenarios(): Promise<[string, string, string][]> {
  return [];
}
