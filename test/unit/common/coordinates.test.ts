import { expect } from 'chai';
import { formatRecordAt, formatTp } from '../../../src/common/coordinates.js';

describe('coordinates', () => {
  it('names a partition topic[partition] and a record topic[partition]@offset', () => {
    expect(formatTp({ topic: 'logs', partition: 3 })).to.equal('logs[3]');
    expect(formatRecordAt({ topic: 'logs', partition: 3, offset: 1234 })).to.equal('logs[3]@1234');
  });

  it('takes any object with the fields (a Kafka message, a record, an offset to commit)', () => {
    const message = { topic: 'app.logs-v2', partition: 0, offset: 0, value: Buffer.from('x'), size: 1 };
    expect(formatRecordAt(message)).to.equal('app.logs-v2[0]@0');
    expect(formatTp(message)).to.equal('app.logs-v2[0]');
  });
});
