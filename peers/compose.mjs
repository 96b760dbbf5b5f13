// Compose Federation subgraphs with Apollo's own composition library.
//
// stdin:  JSON [{"name": "...", "url": "...", "sdl": "..."}, ...]
// stdout: JSON {"supergraphSdl": "...", "hints": [{"code", "message"}]}
//         or   {"errors": [{"code", "message"}]}
// Exit code 0 in both cases; non-zero only when this script itself crashes
// (bad input JSON, a library exception).
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorEntry(err) {
  return {
    code: err?.extensions?.code ?? 'UNKNOWN',
    message: err?.message ?? String(err),
  };
}

function hintEntry(hint) {
  return {
    code: hint?.definition?.code ?? 'UNKNOWN',
    message: hint?.message ?? String(hint),
  };
}

async function main() {
  const input = JSON.parse(await readStdin());
  if (!Array.isArray(input)) {
    throw new Error('expected a JSON array of {name, url, sdl}');
  }
  const services = [];
  const parseErrors = [];
  for (const entry of input) {
    const { name, url, sdl } = entry;
    if (typeof name !== 'string' || typeof sdl !== 'string') {
      throw new Error('each subgraph needs string "name" and "sdl"');
    }
    try {
      services.push({ name, url: url ?? undefined, typeDefs: parse(sdl) });
    } catch (err) {
      parseErrors.push({ code: 'INVALID_GRAPHQL', message: `[${name}] ${err.message}` });
    }
  }
  let out;
  if (parseErrors.length > 0) {
    out = { errors: parseErrors };
  } else {
    const result = composeServices(services);
    if (result.errors && result.errors.length > 0) {
      out = { errors: result.errors.map(errorEntry) };
    } else {
      out = {
        supergraphSdl: result.supergraphSdl,
        hints: (result.hints ?? []).map(hintEntry),
      };
    }
  }
  process.stdout.write(JSON.stringify(out));
  process.stdout.write('\n');
}

main().catch((err) => {
  process.stderr.write(`compose.mjs crashed: ${err?.stack ?? err}\n`);
  process.exit(2);
});
