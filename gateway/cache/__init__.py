"""The upstream cache: answers of the upstream APIs, shared by every query and replica.

`entries` says what is stored and under which key, `backends` where (bounded memory or
Redis), `flights` makes identical concurrent requests one, and `upstream` puts them
together with the fresh and stale windows. The whole-response cache is another thing: it
keeps whole GraphQL answers, in front of `/graphql` (`gateway.whole_response_cache`).
"""
