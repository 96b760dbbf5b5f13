// Runs the pinned graphql-http server audits against a running GraphQL endpoint and prints one JSON
// document: {"results": [{"id", "name", "status", "reason"}]}. The Python test asserts on it, so the
// audit verdict lives in pytest's output rather than in this script's exit code.
//
// usage: node audit.mjs http://127.0.0.1:PORT/graphql
import { serverAudits } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs URL");
  process.exit(2);
}

const results = [];
// The gateway refuses requests a browser could send cross-site without a preflight (CSRF
// prevention); the audit's client is no browser, and says so with a preflight header.
const fetchFn = (input, init = {}) =>
  fetch(input, { ...init, headers: { ...(init.headers || {}), "graphql-preflight": "1" } });

for (const audit of serverAudits({ url, fetchFn })) {
  try {
    const result = await audit.fn();
    results.push({
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.status === "ok" ? null : result.reason,
    });
  } catch (error) {
    // An audit only throws when it could not run at all (the server hung up, say): report it as
    // an error of that audit rather than losing the rest of the run.
    results.push({ id: audit.id, name: audit.name, status: "error", reason: String(error) });
  }
}
process.stdout.write(JSON.stringify({ results }) + "\n");
