// Compose many subgraph sets with Apollo's composition library, in one process.
//
// stdin:  JSON {"<set>": [{"name", "url", "sdl"}, ...], ...}
// stdout: JSON {"<set>": {"supergraphSdl", "hints"} | {"errors": [{"code", "message"}]}, ...}
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function entry(err) {
  return { code: err?.extensions?.code ?? err?.definition?.code ?? 'UNKNOWN', message: err?.message ?? String(err) };
}

function composeSet(subgraphs) {
  const services = [];
  const errors = [];
  for (const { name, url, sdl } of subgraphs) {
    try {
      services.push({ name, url: url ?? undefined, typeDefs: parse(sdl) });
    } catch (err) {
      errors.push({ code: 'INVALID_GRAPHQL', message: `[${name}] ${err.message}` });
    }
  }
  if (errors.length > 0) return { errors };
  const result = composeServices(services);
  if (result.errors && result.errors.length > 0) return { errors: result.errors.map(entry) };
  return { supergraphSdl: result.supergraphSdl, hints: (result.hints ?? []).map(entry) };
}

const input = JSON.parse(await readStdin());
const out = {};
for (const [set, subgraphs] of Object.entries(input)) {
  try {
    out[set] = composeSet(subgraphs);
  } catch (err) {
    out[set] = { errors: [{ code: 'CRASH', message: String(err?.stack ?? err) }] };
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
