// Compose Federation subgraphs with The Guild's composition library (what Hive uses).
//
// stdin:  JSON [{"name": "...", "url": "...", "sdl": "..."}, ...]
// stdout: JSON {"supergraphSdl": "..."} or {"errors": [{"code", "message"}]}
// Exit code 0 in both cases; non-zero only when this script itself crashes.
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const result = composeServices(
  input.map((entry) => ({ name: entry.name, url: entry.url, typeDefs: parse(entry.sdl) })),
);
if (result.errors && result.errors.length > 0) {
  const errors = result.errors.map((err) => ({
    code: err?.extensions?.code ?? 'UNKNOWN',
    message: err?.message ?? String(err),
  }));
  process.stdout.write(JSON.stringify({ errors }));
} else {
  process.stdout.write(JSON.stringify({ supergraphSdl: result.supergraphSdl }));
}
