/**
 * `kafka.topics` entries that start with `^` are regular expressions, handed to librdkafka as they
 * are: it matches them against every topic of the cluster with POSIX extended regular expressions
 * (`regcomp(REG_EXTENDED)`). Sluice checks them, and lists what they match in `sluice check`, with
 * JavaScript's RegExp, so it accepts only the part of the syntax where both agree: literals, `.`,
 * `[...]` sets and ranges, `( )`, `|`, `* + ? {n,m}`, `^ $` and a backslash before punctuation.
 */

/**
 * Kafka's own topics. librdkafka matches a pattern against every topic the cluster lists, these
 * included (unlike the Java client's `exclude.internal.topics`): `^.*` would index the group offsets.
 * A pattern never consumes them (`topic.blacklist`); naming one outright still does.
 */
export const INTERNAL_TOPICS = ['__consumer_offsets', '__transaction_state', '__share_group_state'] as const;

/** librdkafka's `topic.blacklist`: the internal topics, as anchored patterns. */
export const INTERNAL_TOPICS_BLACKLIST = INTERNAL_TOPICS.map((t) => `^${t}$`).join(',');

/** An entry librdkafka reads as a regular expression. */
export function isTopicPattern(entry: string): boolean {
  return entry.startsWith('^');
}

/** Why librdkafka would read the pattern differently from JavaScript, or cannot compile it; undefined when usable. */
export function topicPatternProblem(pattern: string): string | undefined {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const next = pattern[i + 1];
    if (c === '\\') {
      if (next === undefined) return 'ends with a backslash';
      if (/[A-Za-z0-9]/.test(next)) return `has \\${next}, which POSIX regular expressions (librdkafka's) do not have: write a set such as [0-9] or [A-Za-z0-9_]`;
      i++;
    } else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') return 'has a set starting with ], which POSIX takes as a literal ] and JavaScript as an empty set: put the ] elsewhere or escape it outside a set';
      for (; j < pattern.length && pattern[j] !== ']'; j++) {
        if (pattern[j] === '\\') return 'has a backslash inside [...], a literal backslash to POSIX and an escape to JavaScript: write the character itself';
        if (pattern[j] === '[' && ':.='.includes(pattern[j + 1] ?? '')) return 'has a POSIX class such as [[:digit:]], which JavaScript does not read: write a range such as [0-9]';
      }
      i = j;
    } else if (c === '(' && next === '?') {
      return 'has (?…), a group or lookaround POSIX regular expressions do not have';
    } else if ((c === '*' || c === '+' || c === '?' || c === '}') && next === '?') {
      return `has a lazy quantifier ${c}?, which POSIX regular expressions do not have`;
    }
  }
  try {
    new RegExp(pattern);
  } catch (err) {
    return `is not a valid regular expression: ${(err as Error).message}`;
  }
  return undefined;
}

/** Whether `topic` is named by `entry`: equal to it, or matched by it when it is a pattern. */
export function topicMatcher(entry: string): (topic: string) => boolean {
  if (!isTopicPattern(entry)) return (topic) => topic === entry;
  const re = new RegExp(entry);
  const internal: ReadonlySet<string> = new Set(INTERNAL_TOPICS);
  return (topic) => !internal.has(topic) && re.test(topic);
}
