// Scenario 2's four subgraphs (accounts, inventory, products, reviews) in one Node process.
//
//   node bench/guild/subgraphs.mjs [--port 4200] [--record FILE]
//
// With --record, every request is appended to FILE as one JSON line {"path", "body"}, which is
// how the benchmark learns what a gateway sends for one client request (slow; not under load).
// Serves POST http://127.0.0.1:PORT/<name> for each subgraph and prints "ready" once listening.
// Built with @apollo/subgraph over graphql-js; parsed and validated documents are cached by
// query text, so the subgraphs stay far faster than any gateway in front of them. The data is
// laid out so that the benchmark query's answer is exactly `expected-response.json`.

import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, validate } from 'graphql';

const HERE = new URL('.', import.meta.url);
const HOST = '127.0.0.1';

const sdl = (name) => parse(readFileSync(new URL(`subgraphs/${name}.graphql`, HERE), 'utf8'));

const USERS = [
  { id: '1', name: 'Uri Goldshtein', username: 'urigo', birthday: 1234567890 },
  { id: '2', name: 'Dotan Simha', username: 'dotansimha', birthday: 1234567890 },
  { id: '3', name: 'Kamil Kisiela', username: 'kamilkisiela', birthday: 1234567890 },
  { id: '4', name: 'Arda Tanrikulu', username: 'ardatan', birthday: 1234567890 },
  { id: '5', name: 'Gil Gardosh', username: 'gilgardosh', birthday: 1234567890 },
  { id: '6', name: 'Laurin Quast', username: 'laurin', birthday: 1234567890 },
];
const USER_BY_ID = new Map(USERS.map((u) => [u.id, u]));

const PRODUCTS = [
  { upc: '1', name: 'Table', price: 899, weight: 100 },
  { upc: '2', name: 'Couch', price: 1299, weight: 1000 },
  { upc: '3', name: 'Glass', price: 15, weight: 20 },
  { upc: '4', name: 'Chair', price: 499, weight: 100 },
  { upc: '5', name: 'TV', price: 1299, weight: 1000 },
];
const PRODUCT_BY_UPC = new Map(PRODUCTS.map((p) => [p.upc, p]));
const IN_STOCK = new Set(['1', '5']);

// Every review is written by user 1; every user's review list is the first two reviews.
const REVIEWS = JSON.parse(readFileSync(new URL('reviews-data.json', HERE), 'utf8')).map((r) => ({
  id: r.id,
  body: r.body,
  upc: r.upc,
  authorId: '1',
}));
const REVIEWS_OF_USER = REVIEWS.slice(0, 2);

const resolvers = {
  accounts: {
    Query: {
      me: () => USERS[0],
      user: (_, { id }) => USER_BY_ID.get(id) ?? null,
      users: () => USERS,
    },
    User: { __resolveReference: (ref) => USER_BY_ID.get(ref.id) ?? null },
  },
  inventory: {
    Product: {
      __resolveReference: (ref) => ({ ...ref, inStock: IN_STOCK.has(ref.upc) }),
      // The reference data answers null here; the field still needs price and weight first.
      shippingEstimate: () => null,
    },
  },
  products: {
    Query: { topProducts: (_, { first }) => PRODUCTS.slice(0, first) },
    Product: { __resolveReference: (ref) => PRODUCT_BY_UPC.get(ref.upc) ?? null },
  },
  reviews: {
    Review: {
      __resolveReference: (ref) => REVIEWS.find((r) => r.id === ref.id) ?? null,
      product: (review) => ({ __typename: 'Product', upc: review.upc }),
      author: (review) => ({
        __typename: 'User',
        id: review.authorId,
        username: USER_BY_ID.get(review.authorId).username,
      }),
    },
    User: {
      __resolveReference: (ref) => ref,
      reviews: () => REVIEWS_OF_USER,
    },
    Product: {
      __resolveReference: (ref) => ref,
      reviews: (product) => REVIEWS.filter((r) => r.upc === product.upc),
    },
  },
};

function buildSubgraph(name) {
  const schema = buildSubgraphSchema([{ typeDefs: sdl(name), resolvers: resolvers[name] }]);
  const documents = new Map();
  return async (body) => {
    const { query, variables, operationName } = body;
    let document = documents.get(query);
    if (document === undefined) {
      document = parse(query);
      const errors = validate(schema, document);
      if (errors.length > 0) return { errors: errors.map((e) => e.toJSON()) };
      if (documents.size > 1000) documents.clear();
      documents.set(query, document);
    }
    const result = await execute({
      schema,
      document,
      variableValues: variables,
      operationName,
    });
    return result;
  };
}

const SUBGRAPHS = new Map(
  ['accounts', 'inventory', 'products', 'reviews'].map((name) => [`/${name}`, buildSubgraph(name)]),
);

function respond(res, status, payload) {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const { values } = parseArgs({
  options: { port: { type: 'string', default: '4200' }, record: { type: 'string' } },
});

const server = createServer((req, res) => {
  const run = SUBGRAPHS.get(req.url.split('?')[0]);
  if (run === undefined || req.method !== 'POST') {
    respond(res, 404, { errors: [{ message: 'not found' }] });
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    if (values.record) {
      appendFileSync(values.record, `${JSON.stringify({ path: req.url, body: text })}\n`);
    }
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      respond(res, 400, { errors: [{ message: 'invalid JSON' }] });
      return;
    }
    run(body).then(
      (result) => respond(res, 200, result),
      (err) => respond(res, 500, { errors: [{ message: String(err) }] }),
    );
  });
});
server.keepAliveTimeout = 65_000;

server.listen(Number.parseInt(values.port, 10), HOST, () => process.stdout.write('ready\n'));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
