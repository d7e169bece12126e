// Serves a composed supergraph through @apollo/gateway (on Apollo Server), which plans each
// operation across the subgraphs and fetches entities with `_entities`.
//
// Usage: node supergraph.mjs <supergraph SDL file>
// Prints "listening <url>" once it serves.
import { readFileSync } from "node:fs";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

const gateway = new ApolloGateway({ supergraphSdl: readFileSync(process.argv[2], "utf8") });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: 0 } });
console.log(`listening ${url}`);
