import { expect } from 'chai';
import { documentId, idProblem, parseIdStrategy, recordKey } from '../../../src/common/ids.js';

const key = (b: Buffer) => recordKey(b, 0, b.length);

describe('id strategy', () => {
  it('parses kafka, key, none and field:<dotted path>', () => {
    expect(parseIdStrategy('kafka')).to.deep.equal({ kind: 'kafka' });
    expect(parseIdStrategy('key')).to.deep.equal({ kind: 'key' });
    expect(parseIdStrategy('none')).to.deep.equal({ kind: 'none' });
    expect(parseIdStrategy('field:order.id')).to.deep.equal({ kind: 'field', path: ['order', 'id'] });
  });

  it('record keys: valid UTF-8 as it is, anything else (or a b64: prefix) as b64: + base64url', () => {
    expect(key(Buffer.from('user-ü'))).to.equal('user-ü');
    expect(key(Buffer.from('\uFFFD'))).to.equal('\uFFFD');
    expect(key(Buffer.from([0x00, 0x00, 0x01, 0xff]))).to.equal('b64:AAAB_w');
    expect(key(Buffer.from('b64:AAAB_w'))).to.equal(`b64:${Buffer.from('b64:AAAB_w').toString('base64url')}`);
    const bytes = Buffer.from('xxabyy');
    expect(recordKey(bytes, 2, 4)).to.equal('ab');
  });

  it('document ids by strategy; null when the strategy has no value', () => {
    const doc = { order: { id: 42, big: 2 ** 53, ref: 'r-1' }, n: 10n ** 20n, empty: '' };
    expect(documentId(parseIdStrategy('kafka'), doc, 'logs', 2, 7, null)).to.equal('logs-2-7');
    expect(documentId(parseIdStrategy('none'), doc, 'logs', 2, 7, 'k')).to.equal(undefined);
    expect(documentId(parseIdStrategy('key'), doc, 'logs', 2, 7, 'k')).to.equal('k');
    expect(documentId(parseIdStrategy('key'), doc, 'logs', 2, 7, '')).to.equal(null);
    expect(documentId(parseIdStrategy('key'), doc, 'logs', 2, 7, null)).to.equal(null);
    expect(documentId(parseIdStrategy('field:order.id'), doc, 'logs', 2, 7, null)).to.equal('42');
    expect(documentId(parseIdStrategy('field:order.ref'), doc, 'logs', 2, 7, null)).to.equal('r-1');
    expect(documentId(parseIdStrategy('field:n'), doc, 'logs', 2, 7, null)).to.equal('100000000000000000000');
    expect(documentId(parseIdStrategy('field:order.big'), doc, 'logs', 2, 7, null)).to.equal(null);
    expect(documentId(parseIdStrategy('field:empty'), doc, 'logs', 2, 7, null)).to.equal(null);
    expect(documentId(parseIdStrategy('field:order.id.deeper'), doc, 'logs', 2, 7, null)).to.equal(null);
  });

  it('says why there is no id', () => {
    const doc = { order: { big: 2 ** 53 } };
    expect(idProblem(parseIdStrategy('key'), doc)).to.equal('record has no key, and index.idStrategy is key');
    expect(idProblem(parseIdStrategy('field:order.big'), doc)).to.equal(
      'the number at order.big cannot be an exact _id (not an integer within ±(2^53 − 1)); send the id as a string',
    );
    expect(idProblem(parseIdStrategy('field:order.id'), doc)).to.equal('document has no string or number at order.id for index.idStrategy');
  });
});
