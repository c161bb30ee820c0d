import { expect } from 'chai';
import { count, es, singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { commitOffsets, committedOffsets, createTopic, deleteRecordsBefore, endOffsets, produce, produceTransactions, type OutRecord } from '../support/kafka.js';
import { expectCleanExit, exitWithin, startSluice, statusPort, testConfig, type SluiceProcess } from '../support/sluice.js';

const RESET_MSG = 'offset out of range: records were deleted before Sluice read them; resumed where kafka.startFrom says';

/** The value of one series in a Prometheus text exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

async function readyz(port: number): Promise<{ status: number; ready: boolean; reasons: string[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, ...((await res.json()) as { ready: boolean; reasons: string[] }) };
}

/** Records of one transaction, spread over `partitions`, each saying which transaction wrote it. */
function records(txn: number, n: number, partitions: number): OutRecord[] {
  return Array.from({ length: n }, (_, i) => ({ partition: i % partitions, key: `t${txn}-${i}`, value: JSON.stringify({ txn, i }) }));
}

/**
 * Polls for `ms` and fails at the first sample where a member with nothing to read shows lag or
 * turns unready: a stall is only reported after `health.stallSeconds`, so one read is not enough.
 */
async function staysIdleAndReady(port: number, labels: string[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const text = await scrape(port);
    for (const l of labels) expect(sample(text, `sluice_consumer_lag${l}`), `sluice_consumer_lag${l}`).to.equal(0);
    expect(await readyz(port)).to.deep.equal({ status: 200, ready: true, reasons: [] });
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('lag: transactional topics and offsets aged out of retention, against the real servers', function () {
  this.timeout(600_000);
  before(() => singleShardTemplate('lag-*'));

  it('transactions: --until-caught-up exits with every committed record indexed; a restart reads only the markers, shows lag 0 and stays ready', async () => {
    const topic = unique('lag-txn');
    await createTopic(topic, 2);
    // Per partition: 150 records, commit marker, 50 aborted records, abort marker, 100 records, commit marker.
    await produceTransactions(topic, [
      { records: records(1, 300, 2), commit: true },
      { records: records(2, 100, 2), commit: false },
      { records: records(3, 200, 2), commit: true },
    ]);
    const ends = await endOffsets(topic, 2);
    expect(ends).to.deep.equal([303, 303]);
    const group = unique('g');

    const run = startSluice(testConfig(topic, group), ['--until-caught-up']);
    const code = await exitWithin(run, 180_000);
    expect(code, `sluice did not stop at the end of the log:\n${run.output().slice(-3000)}`).to.equal(0);
    expect(await count(topic)).to.equal(500);
    await es.indices.refresh({ index: topic });
    expect((await es.count({ index: topic, query: { term: { txn: 2 } } })).count).to.equal(0, 'records of the aborted transaction');
    // Sluice commits its watermark: one past the last record, which is the last marker's offset.
    expect(await committedOffsets(group, topic, 2)).to.deep.equal([302, 302]);

    const idle = startSluice(testConfig(topic, group, { metrics: { port: 0, host: '127.0.0.1' }, health: { stallSeconds: 2 } }));
    try {
      const port = await waitFor('the status server', () => statusPort(idle), 60_000);
      const labels = [0, 1].map((p) => `{topic="${topic}",partition="${p}"}`);
      await waitFor('lag 0 on both partitions', async () => {
        const text = await scrape(port);
        return labels.every((l) => sample(text, `sluice_consumer_lag${l}`) === 0) || undefined;
      }, 60_000, 250);
      await waitFor('ready', async () => (await readyz(port)).ready || undefined, 30_000, 250);
      await staysIdleAndReady(port, labels, 4_000);
      const text = await scrape(port);
      expect(sample(text, 'sluice_records_consumed_total')).to.equal(0);
      for (const l of labels) expect(sample(text, `sluice_partition_high_watermark_offset${l}`)).to.equal(303);
    } finally {
      idle.child.kill('SIGTERM');
      await expectCleanExit(idle);
    }
  });

  describe('a committed offset below the log start (records deleted by retention)', () => {
    const topic = unique('lag-aged');
    const latestGroup = unique('g');
    const earliestGroup = unique('g');
    before(async () => {
      await createTopic(topic, 1);
      await produce(topic, Array.from({ length: 100 }, (_, i) => ({ partition: 0, value: JSON.stringify({ phase: 'old', i }) })));
      await commitOffsets(latestGroup, topic, [{ partition: 0, offset: 40 }]);
      await commitOffsets(earliestGroup, topic, [{ partition: 0, offset: 40 }]);
      expect(deleteRecordsBefore(topic, 0, 70)).to.equal(70);
    });

    it('startFrom latest: a warning names the partition, the offset, where it resumed and the records skipped; a metric counts it; lag 0 and ready', async () => {
      const p: SluiceProcess = startSluice(testConfig(topic, latestGroup, { kafka: { startFrom: 'latest' }, metrics: { port: 0, host: '127.0.0.1' }, health: { stallSeconds: 2 } }));
      try {
        const port = await waitFor('the status server', () => statusPort(p), 60_000);
        const series = `sluice_offset_resets_total{topic="${topic}",partition="0",to="latest"}`;
        // The warning comes after the log's start and end are read back, a moment after the count.
        await waitFor('the reset counted and logged', async () => (sample(await scrape(port), series) === 1 && p.logs(RESET_MSG).length > 0) || undefined, 60_000, 250);
        const lines = p.logs(RESET_MSG);
        expect(lines).to.have.length(1);
        expect(lines[0]).to.include({ level: 40, topic, partition: 0, offset: 40, startFrom: 'latest', resumedAt: 100, skipped: 30, deleted: 30 });

        const label = `{topic="${topic}",partition="0"}`;
        await waitFor('lag 0', async () => sample(await scrape(port), `sluice_consumer_lag${label}`) === 0 || undefined, 60_000, 250);
        await waitFor('ready', async () => (await readyz(port)).ready || undefined, 30_000, 250);
        await staysIdleAndReady(port, [label], 4_000);

        // It reads on from the end: only records produced now are indexed.
        await produce(topic, Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: JSON.stringify({ phase: 'new', i }) })));
        await waitFor('the new records indexed and the lag at 0', async () => {
          const text = await scrape(port);
          return (sample(text, 'sluice_records_indexed_total') === 10 && sample(text, `sluice_consumer_lag${label}`) === 0) || undefined;
        }, 60_000, 250);
        expect(await count(topic)).to.equal(10);
        const text = await scrape(port);
        expect(sample(text, series)).to.equal(1);
        expect(p.logs(RESET_MSG)).to.have.length(1);
      } finally {
        p.child.kill('SIGTERM');
        await expectCleanExit(p);
      }
    });

    it('startFrom earliest: a warning says the records below the log start were deleted before they were read; the rest is indexed', async () => {
      const index = unique('lag-aged-earliest');
      const p = startSluice(testConfig(topic, earliestGroup, { index: { name: index } }), ['--until-caught-up']);
      await expectCleanExit(p, 180_000);
      const lines = p.logs(RESET_MSG);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ level: 40, topic, partition: 0, offset: 40, startFrom: 'earliest', resumedAt: 70, skipped: 0, deleted: 30 });
      // From the log start on: 70..99, and whatever the other test produced since.
      const [end] = await endOffsets(topic, 1);
      expect(await count(index)).to.equal((end as number) - 70);
      expect(await committedOffsets(earliestGroup, topic, 1)).to.deep.equal([end]);
    });
  });
});
