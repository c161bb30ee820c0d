/**
 * One live line per runner on stderr: a bar, the count, the rate over the last second and the
 * runner's RSS. Without a terminal it prints a plain line every five seconds instead.
 */
export function createProgress(out: NodeJS.WriteStream = process.stderr) {
  let label = '';
  let lastPrint = 0;
  let rateFrom = { t: 0, count: 0 };
  let rate = 0;

  return {
    start(name: string): void {
      label = name;
      lastPrint = 0;
      rateFrom = { t: performance.now(), count: 0 };
      rate = 0;
    },

    update(count: number, expected: number, rssBytes: number | undefined, note = ''): void {
      const t = performance.now();
      if (t - rateFrom.t >= 1000) {
        rate = ((count - rateFrom.count) * 1000) / (t - rateFrom.t);
        rateFrom = { t, count };
      }
      if (!out.isTTY && t - lastPrint < 5000) return;
      lastPrint = t;
      const share = expected > 0 ? Math.min(1, count / expected) : 0;
      const width = 24;
      const filled = Math.round(share * width);
      const line =
        `  ${label.padEnd(26)} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ` +
        `${count.toLocaleString('en-US')}/${expected.toLocaleString('en-US')}  ${Math.round(rate).toLocaleString('en-US')} docs/s` +
        (rssBytes === undefined ? '' : `  RSS ${Math.round(rssBytes / 1048576)} MB`) +
        (note ? `  ${note}` : '');
      out.write(out.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
    },

    done(summary: string): void {
      out.write(out.isTTY ? `\r\x1b[K  ${label.padEnd(26)} ${summary}\n` : `  ${label} ${summary}\n`);
    },
  };
}

export type Progress = ReturnType<typeof createProgress>;
