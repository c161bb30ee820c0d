import { expect } from 'chai';
import { count, es, singleShardTemplate } from '../support/elasticsearch.js';
import { unique, waitFor } from '../support/env.js';
import { expectEachRecordOnce, seedTopic } from '../support/data.js';
import { configFile, expectCleanExit, sluiceCommand, startSluice, testConfig } from '../support/sluice.js';

describe('parity: topic patterns against the real Kafka', function () {
  this.timeout(240_000);
  // Names are regex-safe: letters, digits and dashes.
  const prefix = unique('pt');
  before(() => singleShardTemplate(`${prefix}-*`));

  it('sluice check lists what a pattern matches; a run indexes the matching topics once each, and a topic created later', async () => {
    const [a, b, other] = [`${prefix}-a`, `${prefix}-b`, `${prefix}x-c`];
    const endsA = await seedTopic(a, 2, 300);
    const endsB = await seedTopic(b, 1, 200);
    await seedTopic(other, 1, 50);
    const pattern = `^${prefix}-[a-z]+$`;
    const group = unique('g');
    const config = testConfig(a, group, { kafka: { topics: [pattern], metadataRefreshMs: 1000 }, index: { name: '{topic}' } });

    const check = await sluiceCommand(['check', '--config', configFile(config)]);
    expect(check.code).to.equal(0, check.stdout + check.stderr);
    expect(check.stdout).to.match(new RegExp(`^ok {4}topic pattern \\^${prefix}-\\[a-z\\]\\+\\$: matches 2 topic\\(s\\): ${a} \\(2 partition\\(s\\)\\), ${b} \\(1 partition\\(s\\)\\)$`, 'm'));
    expect(check.stdout).to.match(new RegExp(`^ok {4}group ${group}: committed offsets on 0 of 3 partition\\(s\\)`, 'm'));
    const none = await sluiceCommand(['check', '--config', configFile(testConfig(a, group, { kafka: { topics: [`^${prefix}-nothing`] } }))]);
    expect(none.stdout).to.match(new RegExp(`^warn {2}topic pattern \\^${prefix}-nothing: matches no topic yet`, 'm'));

    const p = startSluice(config);
    try {
      await waitFor('both matching topics indexed', async () => ((await count(a)) === 300 && (await count(b)) === 200) || undefined, 120_000, 250);
      const c = `${prefix}-c`;
      const endsC = await seedTopic(c, 1, 100);
      await waitFor('the topic created later indexed', async () => ((await count(c).catch(() => 0)) === 100) || undefined, 120_000, 250);
      await expectEachRecordOnce(a, endsA);
      await expectEachRecordOnce(b, endsB);
      await expectEachRecordOnce(c, endsC);
      expect((await es.indices.exists({ index: other })) as unknown).to.equal(false, 'a topic the pattern does not match is not consumed');
    } finally {
      p.child.kill('SIGTERM');
    }
    await expectCleanExit(p);
  });
});
