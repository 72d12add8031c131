// What answers cost. One agent call is one answer for one item; it may take several HTTP requests
// (transport retries, answers that failed validation, the summarize agent's stricter retry). Tokens
// count every answer the server produced, invalid ones included: they were paid for. An answer read
// back from the response cache costs nothing and counts as a cache hit only.
export interface AgentUsage {
  /** Agent calls (items) this usage covers. */
  calls: number;
  /** HTTP requests sent, retries included. */
  attempts: number;
  /** Answers read from the response cache instead of the server. */
  cacheHits: number;
  promptTokens: number;
  completionTokens: number;
  /** Wall-clock time of the calls, waits for the endpoint's concurrency limit and backoff included. */
  latencyMs: number;
}

export const zeroUsage: AgentUsage = Object.freeze({
  calls: 0,
  attempts: 0,
  cacheHits: 0,
  promptTokens: 0,
  completionTokens: 0,
  latencyMs: 0,
});

/** The sum of usages (absent ones count as zero); workflows and activities add the same way. */
export function addUsage(...usages: readonly (AgentUsage | undefined)[]): AgentUsage {
  const total = { ...zeroUsage };
  for (const usage of usages) {
    if (!usage) continue;
    total.calls += usage.calls;
    total.attempts += usage.attempts;
    total.cacheHits += usage.cacheHits;
    total.promptTokens += usage.promptTokens;
    total.completionTokens += usage.completionTokens;
    total.latencyMs += usage.latencyMs;
  }
  return total;
}
