// Shared by the latency bench and the broker process it starts (which must not bundle the harness).

/**
 * The broker's paths the latency bench compares: `after` with no thread-pool job per certificate;
 * `token-pool` as it ships: the same with only the token's verification on the thread pool (one
 * hand-off, the largest stage off the event loop); `before` the former path (verification, signature
 * and the replay log's file calls on the thread pool, audit lines through an asynchronous stream).
 */
export type BrokerPath = 'after' | 'token-pool' | 'before';
export const BROKER_PATHS: readonly BrokerPath[] = ['after', 'token-pool', 'before'];

/** What runs on the thread pool in `path`. */
export function threadPoolOf(path: BrokerPath): {
  token: boolean;
  replay: boolean;
  sign: boolean;
  asyncAudit: boolean;
} {
  const before = path === 'before';
  return { token: path !== 'after', replay: before, sign: before, asyncAudit: before };
}
