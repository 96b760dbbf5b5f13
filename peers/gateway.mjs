// Run Apollo Gateway over a static supergraph, on loopback only.
//
//   node peers/gateway.mjs --supergraph FILE --port N
//
// Prints "ready" (one line) on stdout once it is listening on 127.0.0.1:N.
// Stops cleanly on SIGTERM / SIGINT. No Apollo telemetry, usage reporting,
// schema reporting or landing page: this process only talks to the
// subgraph URLs named in the supergraph.

// Must be set before ApolloGateway is constructed: otherwise the gateway
// starts an OTLP metrics exporter (cloud metadata probes + Apollo endpoint).
process.env.APOLLO_TELEMETRY_DISABLED = 'true';
delete process.env.APOLLO_KEY;
delete process.env.APOLLO_GRAPH_REF;

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';

const HOST = '127.0.0.1';

function parseCli() {
  const { values } = parseArgs({
    options: {
      supergraph: { type: 'string' },
      port: { type: 'string' },
    },
    strict: true,
  });
  if (!values.supergraph || !values.port) {
    throw new Error('usage: node gateway.mjs --supergraph FILE --port N');
  }
  const port = Number.parseInt(values.port, 10);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`invalid --port ${values.port}`);
  }
  return { supergraphPath: values.supergraph, port };
}

async function main() {
  const { supergraphPath, port } = parseCli();
  const supergraphSdl = readFileSync(supergraphPath, 'utf8');
  const gateway = new ApolloGateway({ supergraphSdl });
  const server = new ApolloServer({
    gateway,
    introspection: true,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
    ],
  });
  await startStandaloneServer(server, { listen: { host: HOST, port } });
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
}

main().catch((err) => {
  process.stderr.write(`gateway.mjs failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
