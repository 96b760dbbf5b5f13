// Print Apollo's query plan for one operation against a supergraph.
//
//   node peers/plan.mjs --supergraph FILE [--operation-name NAME] < operation.graphql
//   node peers/plan.mjs --supergraph FILE --many < [{"operation", "operationName"}, ...]
//
// stdout: JSON {"plan": "<Apollo's text form>"} or {"errors": [{"message"}]}; exit 0 both ways.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ROUTER_SUPPORTED_SUPERGRAPH_FEATURES,
  Supergraph,
  operationFromDocument,
} from '@apollo/federation-internals';
import { QueryPlanner, prettyFormatQueryPlan } from '@apollo/query-planner';
import { parse } from 'graphql';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const { values } = parseArgs({
    options: {
      supergraph: { type: 'string' },
      'operation-name': { type: 'string' },
      many: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.supergraph) throw new Error('usage: node plan.mjs --supergraph FILE < op.graphql');
  // The Router's feature set, as Apollo's own planner tests use: @context is for: SECURITY.
  const supergraph = Supergraph.build(readFileSync(values.supergraph, 'utf8'), {
    supportedFeatures: ROUTER_SUPPORTED_SUPERGRAPH_FEATURES,
  });
  const planner = new QueryPlanner(supergraph);
  const input = await readStdin();
  // --many: stdin is JSON [{operation, operationName?}], stdout a JSON list of answers.
  const out = values.many
    ? JSON.parse(input).map((item) => planOne(supergraph, planner, item.operation, item.operationName))
    : planOne(supergraph, planner, input, values['operation-name']);
  process.stdout.write(JSON.stringify(out) + '\n');
}

function planOne(supergraph, planner, text, operationName) {
  try {
    const operation = operationFromDocument(supergraph.schema, parse(text), { operationName });
    const plan = planner.buildQueryPlan(operation);
    // The pretty form leaves out each fetch's contextRewrites (@fromContext): list them too.
    return { plan: prettyFormatQueryPlan(plan), contextRewrites: contextRewrites(plan.node, []) };
  } catch (err) {
    return { errors: [{ message: err?.message ?? String(err) }] };
  }
}

// Every fetch with contextRewrites: {service, path (of its Flatten), operation, rewrites}.
function contextRewrites(node, path) {
  if (!node) return [];
  switch (node.kind) {
    case 'Fetch':
      return node.contextRewrites?.length
        ? [{ service: node.serviceName, path, operation: node.operation, rewrites: node.contextRewrites }]
        : [];
    case 'Flatten':
      return contextRewrites(node.node, node.path);
    case 'Sequence':
    case 'Parallel':
      return node.nodes.flatMap((child) => contextRewrites(child, path));
    case 'Condition':
      return [node.ifClause, node.elseClause].flatMap((child) => contextRewrites(child, path));
    case 'Defer':
      return [node.primary?.node, ...node.deferred.map((d) => d.node)].flatMap((child) =>
        contextRewrites(child, path),
      );
    default:
      return [];
  }
}

main().catch((err) => {
  process.stderr.write(`plan.mjs crashed: ${err?.stack ?? err}\n`);
  process.exit(2);
});
