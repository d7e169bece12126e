// Composes subgraphs into a supergraph with @apollo/composition, as `rover supergraph
// compose` does. Reads [{"name", "url", "sdl"}] as JSON on stdin; writes
// {"errors": [{code, message}], "hints": [{code, message}], "supergraphSdl"} on stdout.
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const services = JSON.parse(input).map(({ name, url, sdl }) => ({
  name,
  url,
  typeDefs: parse(sdl),
}));
const result = composeServices(services);
const entry = (code, message) => ({ code, message });
console.log(
  JSON.stringify({
    errors: (result.errors ?? []).map((e) => entry(e.extensions?.code ?? "UNKNOWN", e.message)),
    hints: (result.hints ?? []).map((h) => entry(h.definition.code, h.message)),
    supergraphSdl: result.supergraphSdl ?? null,
  }),
);
