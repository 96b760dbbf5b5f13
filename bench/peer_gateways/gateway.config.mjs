// Hive Gateway configuration for the benchmark. The harness runs `hive-gateway supergraph FILE`
// from this folder with a scrubbed environment (no HIVE_* or APOLLO_* tokens, so no usage
// reporting, tracing or CDN), on 127.0.0.1, one process (--fork 1).
//
// BENCH_DEDUPE=on|off switches both of Hive's deduplications together:
//   inbound:  identical in-flight client operations share one execution;
//   outbound: identical in-flight subgraph requests share one HTTP call (Hive's default is on).
// BENCH_FORWARD_HEADERS: comma-separated client headers passed on to every subgraph.

const dedupe = process.env.BENCH_DEDUPE === 'on';
const forwarded = (process.env.BENCH_FORWARD_HEADERS ?? '')
  .split(',')
  .map((name) => name.trim().toLowerCase())
  .filter(Boolean);

export const gatewayConfig = {
  landingPage: false,
  graphiql: false,
  disableWebsockets: true,
  inboundInflightRequestDeduplication: dedupe,
  transportEntries: {
    '*.http': { options: { deduplicateInflightRequests: dedupe } },
  },
  propagateHeaders: {
    fromClientToSubgraphs({ request }) {
      const headers = {};
      for (const name of forwarded) {
        const value = request.headers.get(name);
        if (value !== null) headers[name] = value;
      }
      return headers;
    },
  },
};
