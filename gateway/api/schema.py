"""The GraphQL schema: root fields (delegating to resolvers), federation, limits."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, cast

import strawberry
from graphql import ASTValidationRule, GraphQLError
from opentelemetry.trace import TracerProvider
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.federation.schema import FederationAny, Schema
from strawberry.types import ExecutionContext
from strawberry.types.info import Info

from gateway import model
from gateway.api import resolvers, sdl
from gateway.api.errors import GatewayErrors, is_client_safe, log_errors
from gateway.api.execution import GatewayExecutor
from gateway.api.inputs import (
    After,
    Before,
    First,
    Last,
    MeetingFilterInput,
    MeetingOrderBy,
    ScheduledBotFilterInput,
)
from gateway.api.scalars import SCALARS
from gateway.api.tracing import tracing_extension
from gateway.api.types import (
    Lead,
    Meeting,
    MeetingConnection,
    Node,
    ScheduledBot,
    ScheduledBotConnection,
    SourceHealth,
)
from gateway.api.usage import UpstreamUsage
from gateway.api.validation import ValidationByShape
from gateway.config import LimitSettings
from gateway.core import gateway as core
from gateway.errors import BadUserInput

CACHE_SIZE = 512  # parsed documents kept per process (validation: `validation.VALID_SHAPES`)
AN_ID = "A global id (`Meeting.id`, `Lead.id` or `ScheduledBot.id`)."


@strawberry.type(name="_Service")
class SubgraphService:
    sdl: str


@strawberry.type(name="Query", description="Meetings, leads and bots of five meeting APIs.")
class Query:
    @strawberry.field(
        graphql_type=Node | None,
        description="Any Meeting, Lead or ScheduledBot by its global id (Relay refetch); null "
        "when the upstream does not know it. Not part of the subgraph schema: in a "
        "supergraph, `node` belongs to one subgraph (see the README's Federation section).",
    )
    async def node(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description=AN_ID)]
    ) -> resolvers.Node | None:
        return await resolvers.node(info, id)

    @strawberry.field(
        graphql_type=MeetingConnection,
        description="Meetings of every source (Leezy, Nexor, Salesloft, Daily), merged into "
        "one order. Default: 20 a page, START_TIME DESC. A failing source leaves its meetings "
        "out, says so in `sources` and `errors[]`, and never fails the page.",
    )
    async def meetings(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: Annotated[
            MeetingFilterInput | None,
            strawberry.argument(description="Which meetings; default: all of them."),
        ] = None,
        order_by: MeetingOrderBy = None,
    ) -> core.MeetingsPage:
        return await resolvers.meetings(info, first, after, last, before, filter, order_by)

    @strawberry.field(
        graphql_type=Meeting | None,
        description="One meeting by its global id; null when the upstream does not know it, "
        "or (with an error) when the upstream failed.",
    )
    async def meeting(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A `Meeting.id`.")],
    ) -> model.Meeting | None:
        return await resolvers.meeting(info, id)

    @strawberry.field(
        graphql_type=Lead | None,
        description="A Nexor lead or a Salesloft person by its global id; null when unknown, "
        "or (with an error) when the upstream failed.",
    )
    async def lead(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="A `Lead.id`: base64 of `Lead:nexor:<lead UUID>` or "
                "`Lead:salesloft:<person id>`."
            ),
        ],
    ) -> model.Lead | None:
        return await resolvers.lead(info, id)

    @strawberry.field(
        graphql_type=list[Lead | None],
        description="Several leads at once, in the order asked; an unknown one is null, a "
        "failed one null with its error.",
    )
    async def leads(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="`Lead.id`s, at most 100.")
        ],
    ) -> list[model.Lead | BaseException | None]:
        # A lead that failed stays in the list as its error: graphql-core raises it at that
        # item, which becomes null with the error, and the other leads still answer.
        return await resolvers.leads(info, ids)

    @strawberry.field(
        graphql_type=ScheduledBotConnection,
        description="MeetStream's scheduled bots, earliest join first. Default: 20 a page. "
        "When MeetStream fails the page is empty, with its state in `sources`.",
    )
    async def scheduled_bots(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            ScheduledBotFilterInput | None,
            strawberry.argument(description="Which bots; default: all of them."),
        ] = None,
    ) -> resolvers.BotsAnswer:
        return await resolvers.scheduled_bots(info, first, after, filter)

    @strawberry.field(
        graphql_type=list[SourceHealth],
        description="Each upstream: configured or not, and its last contact. Never a credential.",
    )
    def sources(self, info: Info) -> list[core.SourceHealth]:
        return resolvers.sources(info)

    @strawberry.field(name="_service")
    def service(self, info: Info) -> SubgraphService:
        """Federation's schema query, answered with the subgraph SDL (see `gateway.api.sdl`)."""
        return SubgraphService(sdl=cast(GatewaySchema, info.schema).subgraph_sdl)


class GatewaySchema(Schema):
    """Validates `_entities` representations before strawberry sees them, and logs errors
    as `log_errors` says.

    Strawberry would hand raw Python errors (KeyError...) to clients for a representation
    without `__typename` or `id`; ours answer BAD_USER_INPUT per representation.
    """

    @cached_property
    def subgraph_sdl(self) -> str:
        return sdl.subgraph_sdl(self)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        if len(representations) > resolvers.MAX_IDS:
            raise BadUserInput(f"`representations` takes at most {resolvers.MAX_IDS} items.")
        results: list[Any] = []
        for item in representations:
            representation = cast(Any, item)
            problem = _representation_problem(representation)
            if problem is None:
                results.append(_entity(info, representation))
            else:
                # Ours, not a bare GraphQLError: that one would be masked as unexpected.
                results.append(BadUserInput(problem))
        return results


async def _entity(info: Info, representation: dict[str, Any]) -> Any:
    return await resolvers.entity(info, representation["__typename"], representation)


def _representation_problem(representation: Any) -> str | None:
    if not isinstance(representation, dict):
        return "A representation must be an object with `__typename` and `id`."
    type_name = representation.get("__typename")
    if type_name not in resolvers.ENTITY_TYPES:
        return f"`__typename` must be one of {', '.join(resolvers.ENTITY_TYPES)}."
    if not isinstance(representation.get("id"), str):
        return f"A {type_name} representation needs its `id` (a string)."
    return None


def build_schema(
    limits: LimitSettings | None = None,
    *,
    tracer_provider: TracerProvider | None = None,
    resolver_spans: bool = False,
) -> GatewaySchema:
    """The schema; with a `tracer_provider`, the operation's spans (and the resolvers' with
    `resolver_spans`), without one nothing of tracing."""
    limits = limits or LimitSettings()
    # The limit rules are made once: `QueryDepthLimiter`/`MaxAliasesLimiter` as per-request
    # factories make new rule classes each time, which the validation cache keys on, so
    # every request would be validated again.
    limit_rules: list[type[ASTValidationRule]] = [
        depth_rule(limits.max_depth, None),
        aliases_rule(limits.max_aliases),
    ]
    tracing = (
        []
        if tracer_provider is None
        else [tracing_extension(tracer_provider, resolver_spans=resolver_spans)]
    )
    return GatewaySchema(
        query=Query,
        types=[Meeting, Lead, ScheduledBot],
        scalar_overrides=SCALARS,
        execution_context_class=GatewayExecutor,
        extensions=[
            *tracing,
            lambda: UpstreamUsage(limits.max_upstream_requests),
            GatewayErrors,
            lambda: MaskErrors(should_mask_error=lambda error: not is_client_safe(error)),
            lambda: AddValidationRules(limit_rules),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: ParserCache(maxsize=CACHE_SIZE),
            ValidationByShape,
        ],
    )
