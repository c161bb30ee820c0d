/**
 * The order of a run's drains: `rounds` rounds of every runner, each round starting one runner
 * later than the one before (A B C, B C A, C A B, A B C, …), so that no runner is always the first
 * on a fresh index or always follows the same neighbour.
 */
export function rotatedRounds<T>(runners: readonly T[], rounds: number): T[][] {
  return Array.from({ length: rounds }, (_, r) => {
    const shift = runners.length === 0 ? 0 : r % runners.length;
    return [...runners.slice(shift), ...runners.slice(0, shift)];
  });
}
