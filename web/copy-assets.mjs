// Copies the pinned GraphiQL bundles out of node_modules into edge/static/vendor/, where the
// gateway serves them: GraphiQL then works with no network. Runs as this package's postinstall,
// so `npm ci` (the Makefile's install step) always leaves a matching set behind.
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const target = join(here, "..", "edge", "static", "vendor");

// Served name -> file inside node_modules. React 18 is the last major with UMD builds, which
// GraphiQL 4's UMD bundle expects as window.React / window.ReactDOM.
const assets = {
  "react.production.min.js": "react/umd/react.production.min.js",
  "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
  "graphiql.min.js": "graphiql/graphiql.min.js",
  "graphiql.min.css": "graphiql/graphiql.min.css",
};

rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const [name, source] of Object.entries(assets)) {
  copyFileSync(join(modules, source), join(target, name));
}
console.log(`copied ${Object.keys(assets).length} GraphiQL assets to ${target}`);
