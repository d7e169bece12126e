// A Relay-style subgraph another team might run beside ours: CRM deals that reference our
// meetings, leads and bots. It has what such subgraphs usually have and what broke
// composition before (issue 11): its own shareable PageInfo, a Node interface with
// `Query.node`, a connection, and everyday enum names (Source, Platform, Direction) used as
// inputs and outputs. It is the supergraph's node subgraph (Apollo's pattern for Relay in
// federation): `Node` is an entity interface here, so `node(id:)` answers any global id of
// the graph with a reference the router completes from the subgraph that owns the type.
//
// Usage: node crm-subgraph.mjs '{"meetings": [id, ...], "leads": [...], "bots": [...]}'
// Prints "listening <url>" once it serves.
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])

  "An object with a global id; Query.node finds any of the supergraph's."
  interface Node @key(fields: "id") {
    id: ID!
  }

  "Where a deal came from."
  enum Source { WEBSITE REFERRAL EVENT }
  "The app the buyer uses."
  enum Platform { WEB IOS ANDROID }
  "Who reached out first."
  enum Direction { INBOUND OUTBOUND }

  "A sales deal."
  type Deal implements Node @key(fields: "id") {
    id: ID!
    name: String!
    source: Source!
    platform: Platform!
    direction: Direction!
    "The meeting it was agreed in (the meetings subgraph's)."
    meeting: Meeting
    "Whom it was agreed with (the meetings subgraph's lead)."
    contact: Lead
    "The bot that recorded that meeting (the meetings subgraph's)."
    recordingBot: ScheduledBot
  }

  # The meetings subgraph's entities, by reference: this subgraph knows their ids only.
  type Meeting implements Node @key(fields: "id") { id: ID! }
  type Lead implements Node @key(fields: "id") { id: ID! }
  type ScheduledBot implements Node @key(fields: "id") { id: ID! }

  type PageInfo @shareable {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }
  type DealEdge { cursor: String! node: Deal! }
  type DealConnection { edges: [DealEdge!]! pageInfo: PageInfo! totalCount: Int! }

  input DealFilter { sources: [Source!] platforms: [Platform!] direction: Direction }

  type Query {
    node(id: ID!): Node
    deals(first: Int = 10, after: String, filter: DealFilter): DealConnection!
  }
`);

const references = JSON.parse(process.argv[2] ?? "{}");
const globalId = (type, id) => Buffer.from(`${type}:${id}`).toString("base64");
const SOURCES = ["WEBSITE", "REFERRAL", "EVENT"];
const PLATFORMS = ["WEB", "IOS", "ANDROID"];
const DIRECTIONS = ["INBOUND", "OUTBOUND"];
const reference = (kind, i) => (references[kind]?.[i] ? { id: references[kind][i] } : null);
const count = Math.max(...["meetings", "leads", "bots"].map((k) => references[k]?.length ?? 0));
const deals = Array.from({ length: count }, (_, i) => ({
  __typename: "Deal",
  id: globalId("Deal", i + 1),
  name: `Deal ${i + 1}`,
  source: SOURCES[i % SOURCES.length],
  platform: PLATFORMS[i % PLATFORMS.length],
  direction: DIRECTIONS[i % DIRECTIONS.length],
  meeting: reference("meetings", i),
  contact: reference("leads", i),
  recordingBot: reference("bots", i),
}));
const FOREIGN = new Set(["Meeting", "Lead", "ScheduledBot"]);

function byId(id) {
  const type = Buffer.from(id, "base64").toString("utf8").split(":")[0];
  if (type === "Deal") return deals.find((deal) => deal.id === id) ?? null;
  return FOREIGN.has(type) ? { __typename: type, id } : null;
}

function dealsPage({ first, after, filter }) {
  const matches = deals.filter(
    (deal) =>
      (!filter?.sources || filter.sources.includes(deal.source)) &&
      (!filter?.platforms || filter.platforms.includes(deal.platform)) &&
      (!filter?.direction || filter.direction === deal.direction),
  );
  const start = after ? Number(Buffer.from(after, "base64").toString("utf8")) + 1 : 0;
  const page = matches.slice(start, start + first);
  const cursor = (i) => Buffer.from(String(start + i)).toString("base64");
  return {
    edges: page.map((node, i) => ({ cursor: cursor(i), node })),
    pageInfo: {
      hasNextPage: start + first < matches.length,
      hasPreviousPage: start > 0,
      startCursor: page.length ? cursor(0) : null,
      endCursor: page.length ? cursor(page.length - 1) : null,
    },
    totalCount: matches.length,
  };
}

const resolvers = {
  Query: { node: (_, { id }) => byId(id), deals: (_, args) => dealsPage(args) },
  Node: { __resolveReference: ({ id }) => byId(id), __resolveType: (node) => node.__typename },
  Deal: { __resolveReference: ({ id }) => byId(id) },
};

const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }) });
const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: 0 } });
console.log(`listening ${url}`);
