import { expect } from 'chai';
import { errors } from '@elastic/elasticsearch';
import { BulkResponseError } from '../../../../src/common/errors.js';
import { classifyItem, classifyRequestError, mayRetry } from '../../../../workers/bulk/retry-policy.js';

describe('retry policy', () => {
  it('classifies items by status and error type', () => {
    expect(classifyItem(201, undefined, 'index')).to.equal('ok');
    expect(classifyItem(200, undefined, 'create')).to.equal('ok');
    expect(classifyItem(409, 'version_conflict_engine_exception', 'create')).to.equal('ok');
    expect(classifyItem(409, 'version_conflict_engine_exception', 'index')).to.equal('reject');
    expect(classifyItem(429, 'es_rejected_execution_exception', 'index')).to.equal('retry');
    expect(classifyItem(503, 'unavailable_shards_exception', 'index')).to.equal('retry');
    expect(classifyItem(400, 'document_parsing_exception', 'index')).to.equal('reject');
    expect(classifyItem(400, 'mapper_parsing_exception', 'index')).to.equal('reject');
    expect(classifyItem(404, 'index_not_found_exception', 'index')).to.equal('halt');
    expect(classifyItem(403, 'cluster_block_exception', 'index')).to.equal('halt');
    expect(classifyItem(429, 'cluster_block_exception', 'index')).to.equal('halt', 'flood-stage block answers 429 but no retry cures it');
    expect(classifyItem(401, 'security_exception', 'index')).to.equal('halt');
    expect(classifyItem(404, undefined, 'delete')).to.equal('ok');
    // A tombstone for an index that does not exist yet: there is nothing to delete.
    expect(classifyItem(404, 'index_not_found_exception', 'delete')).to.equal('ok');
  });

  it('a pipeline that does not exist halts, per item and per request; other illegal arguments are rejected', () => {
    // The answer of Elasticsearch 8.19 for an index or create action line naming a missing pipeline.
    const missing = 'pipeline with id [enrich] does not exist';
    expect(classifyItem(400, 'illegal_argument_exception', 'index', false, missing)).to.equal('halt');
    expect(classifyItem(400, 'illegal_argument_exception', 'index', true, missing)).to.equal('halt');
    expect(classifyItem(400, 'illegal_argument_exception', 'create', false, missing)).to.equal('halt');
    expect(classifyItem(400, 'illegal_argument_exception', 'index', false, 'mapper [a] cannot be changed from type [long] to [text]')).to.equal('reject');
    expect(classifyItem(400, 'illegal_argument_exception', 'index')).to.equal('reject');
    expect(classifyItem(400, 'document_parsing_exception', 'index', false, missing)).to.equal('reject', 'only behind its status and type');
    expect(classifyItem(500, 'illegal_argument_exception', 'index', false, missing)).to.equal('retry');
    const request = new errors.ResponseError({ statusCode: 400, body: { error: { type: 'illegal_argument_exception', reason: missing } }, headers: {}, warnings: null, meta: {} as never });
    expect(classifyRequestError(request)).to.deep.equal({ kind: 'halt', status: 400, errorType: 'illegal_argument_exception', reason: missing, cls: 'halted' });
    const other = new errors.ResponseError({ statusCode: 400, body: { error: { type: 'illegal_argument_exception', reason: 'no' } }, headers: {}, warnings: null, meta: {} as never });
    expect(classifyRequestError(other)).to.deep.include({ kind: 'reject' });
  });

  it('a version conflict on an externally versioned write means a newer record is there: done', () => {
    expect(classifyItem(409, 'version_conflict_engine_exception', 'index', true)).to.equal('ok');
    expect(classifyItem(409, 'version_conflict_engine_exception', 'delete', true)).to.equal('ok');
    expect(classifyItem(409, 'version_conflict_engine_exception', 'index', false)).to.equal('reject', 'a plain index has no version: its 409 is a real failure');
    expect(classifyItem(409, 'version_conflict_engine_exception', 'delete', false)).to.equal('reject');
    expect(classifyItem(409, 'some_other_exception', 'index', true)).to.equal('reject', 'only a version conflict says a newer write won');
    expect(classifyItem(429, 'es_rejected_execution_exception', 'index', true)).to.equal('retry');
  });

  // The names each target answers with (checked on the real nodes by test/support/search-server.ts).
  const targets = [
    { name: 'Elasticsearch 7.17', parse: 'mapper_parsing_exception', rejected: 'es_rejected_execution_exception' },
    { name: 'Elasticsearch 8.x', parse: 'document_parsing_exception', rejected: 'es_rejected_execution_exception' },
    { name: 'Elasticsearch 9.x', parse: 'document_parsing_exception', rejected: 'es_rejected_execution_exception' },
    { name: 'OpenSearch 2.19', parse: 'mapper_parsing_exception', rejected: 'rejected_execution_exception' },
  ];
  for (const t of targets) {
    it(`${t.name}: a mapping error is rejected, a full queue retried, a conflict done, a block halts`, () => {
      expect(classifyItem(400, t.parse, 'index')).to.equal('reject');
      expect(classifyItem(429, t.rejected, 'index')).to.equal('retry');
      expect(classifyItem(409, 'version_conflict_engine_exception', 'index', true)).to.equal('ok');
      expect(classifyItem(403, 'cluster_block_exception', 'index')).to.equal('halt', 'index.blocks.write');
      expect(classifyItem(429, 'cluster_block_exception', 'index')).to.equal('halt', 'read_only_allow_delete');
    });
  }

  it("OpenSearch's rejected_execution_exception is an overload like Elasticsearch's, whatever the status", () => {
    const response = (statusCode: number, type: string) =>
      new errors.ResponseError({ statusCode, body: { error: { type, reason: `${type} happened` } }, headers: {}, warnings: null, meta: {} as never });
    expect(classifyItem(400, 'rejected_execution_exception', 'index')).to.equal('retry');
    expect(classifyItem(400, 'es_rejected_execution_exception', 'index')).to.equal('retry');
    expect(classifyRequestError(response(500, 'rejected_execution_exception'))).to.deep.include({ kind: 'retry', cls: 'overload' });
    expect(classifyRequestError(response(500, 'es_rejected_execution_exception'))).to.deep.include({ kind: 'retry', cls: 'overload' });
    expect(classifyRequestError(response(429, 'rejected_execution_exception'))).to.deep.include({ kind: 'retry', cls: 'overload' });
  });

  it('retries overload, outages, timeouts and lost connections; halts on auth and blocks; splits on 413; rejects 400', () => {
    const response = (statusCode: number, type?: string) =>
      new errors.ResponseError({ statusCode, body: type ? { error: { type, reason: `${type} happened` } } : undefined, headers: {}, warnings: null, meta: {} as never });
    expect(classifyRequestError(response(429, 'es_rejected_execution_exception'))).to.deep.equal({
      kind: 'retry',
      status: 429,
      errorType: 'es_rejected_execution_exception',
      reason: 'es_rejected_execution_exception happened',
      cls: 'overload',
    });
    expect(classifyRequestError(response(503))).to.deep.include({ kind: 'retry', status: 503, cls: 'server_error' });
    expect(classifyRequestError(response(404, 'no_handler_found_exception'))).to.deep.include({ kind: 'retry', status: 404, cls: 'other' });
    expect(classifyRequestError(response(401, 'security_exception'))).to.deep.equal({
      kind: 'halt',
      status: 401,
      errorType: 'security_exception',
      reason: 'security_exception happened',
      cls: 'halted',
    });
    expect(classifyRequestError(response(403, 'cluster_block_exception'))).to.deep.include({ kind: 'halt', cls: 'halted' });
    expect(classifyRequestError(response(429, 'cluster_block_exception'))).to.deep.include({ kind: 'halt', cls: 'halted' }, 'flood stage');
    expect(classifyRequestError(response(413))).to.deep.equal({ kind: 'split', status: 413, reason: 'request body too large', cls: 'too_large' });
    expect(classifyRequestError(response(400, 'parse_exception'))).to.deep.equal({ kind: 'reject', status: 400, errorType: 'parse_exception', reason: 'parse_exception happened' });
    expect(classifyRequestError(new errors.TimeoutError('slow'))).to.deep.equal({ kind: 'retry', reason: 'request timed out', cls: 'timeout' });
    expect(classifyRequestError(new errors.ConnectionError('refused'))).to.deep.equal({ kind: 'retry', reason: 'connection failed: refused', cls: 'connection' });
    expect(classifyRequestError(new errors.NoLivingConnectionsError('none', {} as never))).to.deep.include({ kind: 'retry', cls: 'connection' });
  });

  it('retries an answer whose items do not match the request, and anything unknown', () => {
    expect(classifyRequestError(new BulkResponseError(3, 4))).to.deep.equal({ kind: 'retry', reason: 'BulkResponseError: _bulk answered 3 items for 4 documents', cls: 'other' });
    expect(classifyRequestError('odd')).to.deep.equal({ kind: 'retry', reason: 'odd', cls: 'other' });
  });

  it('retries forever with -1, else up to maxRetries', () => {
    expect(mayRetry(1_000_000, -1)).to.equal(true);
    expect(mayRetry(2, 3)).to.equal(true);
    expect(mayRetry(3, 3)).to.equal(false);
  });
});
