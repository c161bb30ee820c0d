import { expect } from 'chai';
import { actionExtras, parsePipeline, parseRouting, routeProblem, routeValue } from '../../../src/common/routing.js';

describe('pipeline and routing values', () => {
  it('parses a pipeline name, field:<path> and key; nothing when unset', () => {
    expect(parsePipeline(undefined)).to.equal(undefined);
    expect(parsePipeline('enrich')).to.deep.equal({ kind: 'fixed', value: 'enrich' });
    expect(parsePipeline('field:meta.pipeline')).to.deep.equal({ kind: 'field', path: ['meta', 'pipeline'] });
    expect(parseRouting(undefined)).to.equal(undefined);
    expect(parseRouting('key')).to.deep.equal({ kind: 'key' });
    expect(parseRouting('field:tenant')).to.deep.equal({ kind: 'field', path: ['tenant'] });
  });

  it('a pipeline is a non-empty string; a routing value also an exact whole number', () => {
    const doc = { p: 'enrich', n: 7, big: 2 ** 53, huge: 10n ** 20n, empty: '', obj: { x: 1 } };
    const p = (path: string) => routeValue('index.pipeline', { kind: 'field', path: path.split('.') }, doc, null);
    const r = (path: string) => routeValue('index.routing', { kind: 'field', path: path.split('.') }, doc, null);
    expect(p('p')).to.equal('enrich');
    expect(p('n')).to.equal(null);
    expect(p('empty')).to.equal(null);
    expect(p('missing')).to.equal(null);
    expect(r('p')).to.equal('enrich');
    expect(r('n')).to.equal('7');
    expect(r('huge')).to.equal('100000000000000000000');
    expect(r('big')).to.equal(null);
    expect(r('obj')).to.equal(null);
    expect(r('obj.x')).to.equal('1');
  });

  it('routes by the record key, and finds nothing in a tombstone for field:', () => {
    expect(routeValue('index.routing', { kind: 'key' }, undefined, 'k1')).to.equal('k1');
    expect(routeValue('index.routing', { kind: 'key' }, {}, '')).to.equal(null);
    expect(routeValue('index.routing', { kind: 'field', path: ['t'] }, undefined, 'k1')).to.equal(null);
    expect(routeValue('index.pipeline', { kind: 'fixed', value: 'x' }, undefined, null)).to.equal('x');
  });

  it('says why there is no value, naming the option and its default', () => {
    expect(routeProblem('index.pipeline', { kind: 'field', path: ['meta', 'p'] }, {})).to.equal(
      'document has no non-empty string at meta.p for index.pipeline (set index.pipelineDefault for such documents)',
    );
    expect(routeProblem('index.routing', { kind: 'field', path: ['t'] }, {})).to.equal(
      'document has no non-empty string or whole number within ±(2^53 − 1) at t for index.routing (set index.routingDefault for such documents)',
    );
    expect(routeProblem('index.routing', { kind: 'field', path: ['t'] }, undefined)).to.equal(
      'tombstone has no document to read index.routing field:t from (set index.routingDefault, or index.routing key)',
    );
    expect(routeProblem('index.routing', { kind: 'key' }, {})).to.equal('record has no key, and index.routing is key (set index.routingDefault for such records)');
  });

  it('action-line extras: nothing without values, escaped JSON fields otherwise', () => {
    expect(actionExtras(undefined, undefined)).to.equal(undefined);
    expect(actionExtras('p', undefined)).to.equal(',"pipeline":"p"');
    expect(actionExtras(undefined, 'r"1')).to.equal(',"routing":"r\\"1"');
    expect(actionExtras('p', 'r')).to.equal(',"pipeline":"p","routing":"r"');
  });
});
