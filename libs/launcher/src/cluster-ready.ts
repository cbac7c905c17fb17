import { probeJson } from './http-probe';

export interface Readiness {
  ready: boolean;
  /** `epoch N` when ready, else `waiting: ...` naming what is missing. */
  summary: string;
}

interface ClusterSummary {
  formed?: boolean;
  epoch?: number;
  storageRegistered?: number;
  storageExpected?: number;
}

/**
 * Ready when the controller has formed its first table and every frontend holds a table
 * (epoch >= 1 on its /health): from then on client requests succeed.
 */
export async function clusterReadiness(controllerUrl: string, frontendUrls: readonly string[]): Promise<Readiness> {
  const waiting: string[] = [];
  const c = await probeJson<ClusterSummary>(`${controllerUrl}/v1/cluster`);
  if (!c) waiting.push('controller is not answering /v1/cluster');
  else if (c.formed !== true) waiting.push(`controller has ${c.storageRegistered} of ${c.storageExpected} storage nodes`);
  const lagging: string[] = [];
  const healths = await Promise.all(frontendUrls.map((u) => probeJson<{ epoch?: number }>(`${u}/health`)));
  healths.forEach((h, i) => {
    if (!h || !(Number(h.epoch) >= 1)) lagging.push(new URL(frontendUrls[i]).port);
  });
  if (lagging.length > 0) waiting.push(`frontend(s) on ${lagging.join(', ')} have no table yet`);
  if (waiting.length > 0) return { ready: false, summary: `waiting: ${waiting.join('; ')}` };
  return { ready: true, summary: `epoch ${c!.epoch}` };
}
