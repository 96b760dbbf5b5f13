// The API schema Apollo derives from its own composition of one subgraph set.
//
// stdin:  JSON [{"name", "url", "sdl"}, ...]
// stdout: JSON {"apiSchema": "<printed>", "directives": ["<name>", ...]} or {"errors": [...]}
// `directives` lists every directive definition the API schema holds, built-ins included, as
// @apollo/federation-internals' Supergraph.apiSchema() (the gateway's) keeps them.
import { composeServices } from '@apollo/composition';
import { Supergraph } from '@apollo/federation-internals';
import { parse, printSchema } from 'graphql';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const services = input.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) }));
const result = composeServices(services);
let out;
if (result.errors && result.errors.length > 0) {
  out = { errors: result.errors.map((e) => ({ code: e.extensions?.code, message: e.message })) };
} else {
  const api = Supergraph.build(result.supergraphSdl, { supportedFeatures: null }).apiSchema();
  out = {
    apiSchema: printSchema(api.toGraphQLJSSchema()),
    directives: api.allDirectives().map((d) => d.name),
  };
}
process.stdout.write(JSON.stringify(out) + '\n');
