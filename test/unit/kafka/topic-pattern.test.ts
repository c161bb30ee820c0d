import { expect } from 'chai';
import { INTERNAL_TOPICS_BLACKLIST, isTopicPattern, topicMatcher, topicPatternProblem } from '../../../src/kafka/topic-pattern.js';

describe('topic patterns', () => {
  it('reads an entry as a pattern only when it starts with ^', () => {
    expect(isTopicPattern('^logs-.*')).to.equal(true);
    expect(isTopicPattern('logs-^')).to.equal(false);
  });

  it('accepts the syntax POSIX extended and JavaScript regular expressions read alike', () => {
    for (const p of ['^logs-.*', '^(app|web)-[0-9]+$', '^a[^_]?b{1,3}', '^logs\\.eu-.*', '^[-a-z._]+$', '^x|^y']) {
      expect(topicPatternProblem(p), p).to.equal(undefined);
    }
  });

  it('refuses what librdkafka would read differently, and what does not compile, saying why', () => {
    const cases: Array<[string, RegExp]> = [
      ['^logs-\\d+', /\\d, which POSIX/],
      ['^\\w+', /\\w/],
      ['^logs-[[:digit:]]+', /POSIX class/],
      ['^logs[\\.-]x', /backslash inside/],
      ['^(?:a|b)', /\(\?…\)/],
      ['^a(?=b)', /\(\?…\)/],
      ['^a.*?b', /lazy quantifier \*\?/],
      ['^a{2}?', /lazy quantifier \}\?/],
      ['^[]a]', /starting with \]/],
      ['^logs\\', /ends with a backslash/],
      ['^(logs', /not a valid regular expression/],
      ['^a**', /not a valid regular expression/],
    ];
    for (const [pattern, why] of cases) expect(topicPatternProblem(pattern), pattern).to.match(why);
  });

  it('matches a plain entry by name and a pattern by its regular expression', () => {
    expect(topicMatcher('logs')('logs')).to.equal(true);
    expect(topicMatcher('logs')('logs-2')).to.equal(false);
    const m = topicMatcher('^logs-(eu|us)$');
    expect(['logs-eu', 'logs-us', 'logs-eu2', 'xlogs-eu'].filter(m)).to.deep.equal(['logs-eu', 'logs-us']);
  });

  it("a pattern never matches Kafka's internal topics; naming one outright still does", () => {
    expect(['__consumer_offsets', '__transaction_state', '__share_group_state', '__mine', 'logs'].filter(topicMatcher('^.*'))).to.deep.equal(['__mine', 'logs']);
    expect(topicMatcher('__consumer_offsets')('__consumer_offsets')).to.equal(true);
    expect(INTERNAL_TOPICS_BLACKLIST).to.equal('^__consumer_offsets$,^__transaction_state$,^__share_group_state$');
  });
});
