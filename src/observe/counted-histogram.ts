import type { Metric, Registry } from 'prom-client';

/**
 * A Prometheus histogram fed with counts already bucketed elsewhere (by a worker thread, per batch),
 * so the main thread adds a few numbers per batch instead of observing every value. prom-client's
 * Histogram takes one value at a time, so this is a metric of its own, exposed the same way.
 */
export function createCountedHistogram(options: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
  const { name, help, buckets } = options;
  /** Per bucket, then +Inf; not cumulative. */
  const counts = new Array<number>(buckets.length + 1).fill(0);
  let sum = 0;

  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      let cumulative = 0;
      for (let b = 0; b < counts.length; b++) {
        cumulative += counts[b] as number;
        values.push({ metricName: `${name}_bucket`, labels: { le: b < buckets.length ? (buckets[b] as number) : '+Inf' }, value: cumulative });
      }
      values.push({ metricName: `${name}_sum`, labels: {}, value: sum });
      values.push({ metricName: `${name}_count`, labels: {}, value: cumulative });
      return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
    },
    reset() {
      counts.fill(0);
      sum = 0;
    },
  };
  for (const registry of options.registers) registry.registerMetric(metric as unknown as Metric);

  return {
    /** Adds counts per bucket (the last for +Inf; fewer counts mean zeros) and their values' sum. */
    add(more: readonly number[], moreSum: number): void {
      const n = Math.min(more.length, counts.length);
      for (let b = 0; b < n; b++) counts[b] = (counts[b] as number) + (more[b] as number);
      sum += moreSum;
    },
  };
}
