import { expect } from 'chai';
import { count, createIndex } from '../support/elasticsearch.js';
import { unique } from '../support/env.js';
import { committedOffsets, createTopic, endOffsets, produce, type OutRecord } from '../support/kafka.js';
import { readDeadLetters } from '../support/dlq.js';
import { exitWithin, reportScenario, runToEnd, startSluice, testConfig } from '../support/sluice.js';

describe('faults: bad records', function () {
  this.timeout(300_000);

  it('mapping conflicts and malformed records among valid ones → valid ones indexed, each bad one dead-lettered with its reason, offsets committed to the end', async () => {
    const topic = unique('fd-mixed');
    const dlqTopic = `${topic}-dlq`;
    const group = unique('g');
    await createIndex(topic, { n: { type: 'integer' } });
    await createTopic(topic, 3);
    await createTopic(dlqTopic, 1);

    const records: OutRecord[] = [];
    const bad = new Map<string, { stage: string; errorClass: string; errorType?: string }>();
    for (let i = 0; i < 3000; i++) {
      const partition = i % 3;
      const key = `r${i}`;
      let value: string | null = JSON.stringify({ n: i, note: 'fine' });
      if (i % 500 === 7) {
        value = `{"n": ${i}, "broken`;
        bad.set(key, { stage: 'decode', errorClass: 'malformed' });
      } else if (i % 500 === 99) {
        value = JSON.stringify([i]);
        bad.set(key, { stage: 'decode', errorClass: 'malformed' });
      } else if (i % 500 === 250) {
        value = JSON.stringify({ n: `not a number ${i}` });
        bad.set(key, { stage: 'index', errorClass: 'rejected', errorType: 'document_parsing_exception' });
      } else if (i % 500 === 333) {
        value = null;
      }
      records.push({ partition, key, value });
    }
    await produce(topic, records);
    const ends = await endOffsets(topic, 3);
    const tombstones = records.filter((r) => r.value === null).length;

    const started = Date.now();
    const run = await runToEnd(testConfig(topic, group, { errors: { dlqTopic } }));
    reportScenario('mapping conflicts and malformed records → dead-letter topic', started, [run]);
    const valid = records.length - bad.size - tombstones;
    expect(await count(topic)).to.equal(valid);
    expect(run.logs('stopped')[0]).to.deep.include({ indexed: valid, skipped: tombstones, failed: bad.size, deadLettered: bad.size });

    // Read to the topic's end: a duplicate or an extra letter written late counts too.
    const letters = await readDeadLetters(dlqTopic, bad.size);
    expect(letters.map((l) => l.key).sort()).to.deep.equal([...bad.keys()].sort(), 'each bad record dead-lettered exactly once, and nothing else');
    for (const letter of letters) {
      const expected = bad.get(letter.key ?? '');
      expect(expected, `unexpected dead letter ${letter.key}`).to.not.equal(undefined);
      const original = records.find((r) => r.key === letter.key);
      expect(letter.value).to.equal(original?.value, 'the original value is kept');
      expect(letter.headers['sluice.source.topic']).to.equal(topic);
      expect(Number(letter.headers['sluice.source.partition'])).to.equal(original?.partition);
      expect(letter.headers['sluice.error.stage']).to.equal(expected?.stage);
      expect(letter.headers['sluice.error.class']).to.equal(expected?.errorClass);
      expect(letter.headers['sluice.error.reason']).to.be.a('string').and.not.equal('');
      expect(Date.parse(letter.headers['sluice.failed.at'] ?? '')).to.be.greaterThan(0);
      if (expected?.errorType) {
        expect(letter.headers['sluice.error.type']).to.be.oneOf(['document_parsing_exception', 'mapper_parsing_exception']);
        expect(letter.headers['sluice.error.status']).to.equal('400');
      }
    }
    expect(await committedOffsets(group, topic, 3)).to.deep.equal(ends);
  });

  it('without a dead-letter topic the default policy halts the partition before the bad record and commits nothing past it', async () => {
    const topic = unique('fd-fail');
    const group = unique('g');
    await createTopic(topic, 1);
    await produce(topic, Array.from({ length: 100 }, (_, i) => ({ partition: 0, value: i === 40 ? 'not json' : JSON.stringify({ i }) })));
    const started = Date.now();
    const p = startSluice(testConfig(topic, group), ['--until-caught-up']);
    expect(await exitWithin(p, 120_000)).to.equal(1);
    expect(p.output()).to.include(`record ${topic}[0]@40 could not be indexed: invalid JSON`);
    reportScenario('a bad record without a dead-letter topic (policy fail)', started, [p]);
    expect((await committedOffsets(group, topic, 1))[0]).to.equal(40);
  });
});
