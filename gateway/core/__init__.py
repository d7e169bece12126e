"""The core: what the GraphQL resolvers call.

It plans which sources to ask from their declarations, fans out concurrently, merges their
ordered answers into one keyset page, pages scheduled bots, and looks records up by id. It
names no upstream: everything it knows of one comes from `gateway.sources.registry`.
"""
