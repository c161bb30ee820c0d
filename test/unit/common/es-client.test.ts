import { expect } from 'chai';
import { BulkAnswerSerializer } from '../../../src/common/es-client.js';

describe('bulk answer serializer', () => {
  const serializer = new BulkAnswerSerializer();
  const items = (n: number, status: number): string => Array.from({ length: n }, () => `{"index":{"status":${status}}}`).join(',');

  it('reads a filtered _bulk answer without errors as that alone: its items are not parsed', () => {
    expect(serializer.deserialize(`{"errors":false,"items":[${items(3, 201)}]}`)).to.deep.equal({ errors: false });
  });

  it('parses whole an answer with errors, an unfiltered one and any other body', () => {
    const failed = `{"errors":true,"items":[${items(1, 201)},{"index":{"status":400,"error":{"type":"document_parsing_exception","reason":"bad"}}}]}`;
    expect(serializer.deserialize(failed)).to.deep.equal({
      errors: true,
      items: [{ index: { status: 201 } }, { index: { status: 400, error: { type: 'document_parsing_exception', reason: 'bad' } } }],
    });
    expect(serializer.deserialize(`{"took":3,"errors":false,"items":[${items(1, 201)}]}`)).to.deep.equal({ took: 3, errors: false, items: [{ index: { status: 201 } }] });
    expect(serializer.deserialize('{"errors":false}')).to.deep.equal({ errors: false });
    expect(serializer.deserialize('{"name":"node-1","version":{"number":"8.19.0"}}')).to.deep.equal({ name: 'node-1', version: { number: '8.19.0' } });
  });
});
