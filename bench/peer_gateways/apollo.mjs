// @apollo/gateway under @apollo/server for the benchmark, on 127.0.0.1 only.
//
//   node bench/peer_gateways/apollo.mjs --supergraph FILE --port N [--forward-header NAME]...
//
// Prints "ready" once listening; SIGTERM stops it. Telemetry, usage and schema reporting and the
// landing page are off, so the only hosts it talks to are the subgraph URLs in the supergraph.
// @apollo/gateway 2.x has no request deduplication to switch (neither inbound nor outbound; it
// sends every representation it collects), so the benchmark's two settings run it the same way.

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
delete process.env.APOLLO_KEY;
delete process.env.APOLLO_GRAPH_REF;

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';

const { values } = parseArgs({
  options: {
    supergraph: { type: 'string' },
    port: { type: 'string' },
    'forward-header': { type: 'string', multiple: true, default: [] },
  },
  strict: true,
});
if (!values.supergraph || !values.port) {
  throw new Error('usage: node apollo.mjs --supergraph FILE --port N [--forward-header NAME]');
}
const forwarded = values['forward-header'].map((name) => name.toLowerCase());

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    for (const name of forwarded) {
      const value = context.headers?.[name];
      if (typeof value === 'string') request.http.headers.set(name, value);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(values.supergraph, 'utf8'),
  buildService: ({ url }) => new ForwardingDataSource({ url }),
});
const server = new ApolloServer({
  gateway,
  plugins: [
    ApolloServerPluginLandingPageDisabled(),
    ApolloServerPluginSchemaReportingDisabled(),
    ApolloServerPluginUsageReportingDisabled(),
  ],
});
await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number.parseInt(values.port, 10) },
  context: async ({ req }) => ({ headers: req.headers }),
});
process.stdout.write('ready\n');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
