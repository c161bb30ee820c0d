import { expect } from 'chai';
import { count, es, singleShardTemplate } from '../support/elasticsearch.js';
import { readDeadLetters } from '../support/dlq.js';
import { unique } from '../support/env.js';
import { committedOffsets, createTopic, produce } from '../support/kafka.js';
import { runToEnd, testConfig } from '../support/sluice.js';

describe('parity: index names from document fields against the real server', function () {
  this.timeout(240_000);
  before(() => singleShardTemplate('pfi-*'));

  it('{field:service.name} names each document\'s index, lowercased; an invalid name and a missing field are dead-lettered', async () => {
    // A per-run prefix stands for "logs", so that a rerun's indices start empty.
    const logs = unique('pfi-logs');
    const topic = unique('pfi-src');
    await createTopic(topic, 2);
    const docs = [
      { service: { name: 'Api' }, n: 1 },
      { service: { name: 'web' }, n: 2 },
      { service: { name: 'Api' }, n: 3 },
      { service: { name: 'a/b' }, n: 4 },
      { service: {}, n: 5 },
      { service: { name: 'API' }, n: 6 },
      { service: { name: 'web' }, n: 7 },
    ];
    await produce(topic, docs.map((doc, i) => ({ partition: i % 2, value: JSON.stringify(doc) })));
    const dlqTopic = `${topic}-dlq`;
    await createTopic(dlqTopic, 1);
    const groupId = unique('g');
    const p = await runToEnd(testConfig(topic, groupId, { index: { name: `${logs}-{field:service.name}` }, errors: { dlqTopic } }));

    expect(await count(`${logs}-api`)).to.equal(3);
    expect(await count(`${logs}-web`)).to.equal(2);
    const indices = (await es.cat.indices({ index: `${logs}-*`, format: 'json', h: 'index' })) as Array<{ index: string }>;
    expect(indices.map((i) => i.index).sort()).to.deep.equal([`${logs}-api`, `${logs}-web`]);
    const letters = await readDeadLetters(dlqTopic, 2);
    const byOffset = letters
      .map((l) => [l.headers['sluice.source.partition'], l.headers['sluice.source.offset'], l.headers['sluice.error.stage'], l.headers['sluice.error.reason']])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(byOffset).to.deep.equal([
      ['0', '2', 'route', 'document has no non-empty string or whole number within ±(2^53 − 1) at service.name for index.name {field:service.name}'],
      ['1', '1', 'route', `index.name {field:service.name} gives "${logs}-a/b", which Elasticsearch refuses: an index name cannot contain "/"`],
    ]);
    expect(p.logs('stopped')[0]).to.deep.include({ indexed: 5, failed: 2 });
    expect(await committedOffsets(groupId, topic, 2)).to.deep.equal([4, 3]);
  });
});
