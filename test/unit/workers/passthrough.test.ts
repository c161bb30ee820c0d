import { expect } from 'chai';
import { packBatch, BatchReader, type PackableRecord } from '../../../src/common/batch-layout.js';
import { loadNative, ScanStatus } from '../../../src/common/native.js';
import { createPassthrough } from '../../../workers/passthrough.js';

const built = loadNative({ env: {} });

function reader(values: Array<string | null>): BatchReader {
  const records: PackableRecord[] = values.map((v, i) => ({ offset: i, value: v === null ? null : Buffer.from(v), key: `k${i}` }));
  return new BatchReader(packBatch([{ topic: 't', partition: 0, records }]).batch);
}

describe(`JSON passthrough scan (workers/passthrough.ts)${built.path === 'native' ? '' : ` (SKIPPED: ${built.detail})`}`, function () {
  before(function () {
    if (built.path !== 'native') this.skip();
  });
  const addon = () => (built.path === 'native' ? built.addon : (undefined as never));

  it('says per record: sent as its bytes, with raw CR/LF, or left to JS; null values and records over maxDocBytes are not scanned', () => {
    const p = createPassthrough(addon(), {});
    const scan = p.scan(reader(['{"a":1}', '{\n"a":1\r\n}', '[1]', null, '{"long":"xxxxxxxxxxxxxxxx"}', '']), 20);
    expect([0, 1, 2, 3, 4, 5].map((r) => scan.status(r))).to.deep.equal([ScanStatus.Ok, ScanStatus.OkNewlines, ScanStatus.Js, ScanStatus.Js, ScanStatus.Js, ScanStatus.Js]);
    expect(scan.timestamp(0)).to.equal(undefined);
    expect(scan.id(0)).to.equal(undefined);
  });

  it('gives the values at the timestamp and id paths as JSON.parse reads them; other types as null, absent as undefined', () => {
    const p = createPassthrough(addon(), { timestamp: ['@timestamp'], id: ['user', 'id'] });
    const scan = p.scan(
      reader([
        '{"@timestamp":"2026-01-05T10:00:00Z","user":{"id":"u\\u00e9"}}',
        '{"@timestamp" : 1767225600000 ,"user":{"id":12345678901234567890}}',
        '{"@timestamp":{"a":1},"user":{"id":true}}',
        '{"user":{"name":"x"}}',
        '{"user":{"id":"first"},"user":{"id":"last"}}',
      ]),
      1 << 20,
    );
    expect([0, 1, 2, 3, 4].map((r) => [scan.timestamp(r), scan.id(r)])).to.deep.equal([
      ['2026-01-05T10:00:00Z', 'ué'],
      [1767225600000, 12345678901234567890],
      [null, null],
      [undefined, undefined],
      [undefined, 'last'],
    ]);
  });

  it('each scan keeps its own results', () => {
    const p = createPassthrough(addon(), { id: ['id'] });
    const first = p.scan(reader(['{"id":"a"}', 'x']), 1 << 20);
    const second = p.scan(reader(['y', '{"id":"b"}', '{"id":"c"}']), 1 << 20);
    expect([first.status(0), first.status(1), first.id(0)]).to.deep.equal([ScanStatus.Ok, ScanStatus.Js, 'a']);
    expect([second.status(0), second.id(1), second.id(2)]).to.deep.equal([ScanStatus.Js, 'b', 'c']);
  });
});
