import { expect, vi } from 'vitest';

/** Waits (up to 30 s) until the instant query `promql` on Prometheus at `url` answers `value` first. */
export async function untilPrometheusAnswers(url: string, promql: string, value: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const query = encodeURIComponent(promql);
      const body = (await (await fetch(`${url}/api/v1/query?query=${query}`)).json()) as any;
      expect(body.data?.result?.[0]?.value?.[1]).toBe(value);
    },
    { timeout: 30_000, interval: 200 },
  );
}
