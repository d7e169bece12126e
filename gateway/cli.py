"""Command line: `meetings-gateway <command>` (also `python -m gateway <command>`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import fields, replace

import uvicorn
from pydantic import SecretStr, ValidationError

from gateway.api.schema import build_schema
from gateway.api.sdl import client_sdl, subgraph_sdl
from gateway.app import create_app
from gateway.config import Settings
from gateway.logs import logging_config
from gateway.model import Source
from gateway.simulators.cluster import DEFAULT_PORTS, NAMES, Simulators, running_simulators
from gateway.simulators.dataset import DEFAULT_SEED, Dataset, DatasetSizes, build_dataset
from gateway.simulators.scale import MAX_SCALE


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port")
    return port


def _size(text: str) -> int:
    size = int(text)
    if not 0 <= size <= 100_000:
        raise argparse.ArgumentTypeError("a size is between 0 and 100000")
    return size


def _scale(text: str) -> int:
    try:
        scale = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 1 <= scale <= MAX_SCALE:
        raise argparse.ArgumentTypeError(f"the scale is between 1 and {MAX_SCALE}, not {scale}")
    return scale


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meetings-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway against the configured upstreams")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")

    demo = commands.add_parser(
        "demo", help="the five simulators with seeded data and the gateway against them"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=_port, default=8000, help="gateway port (default 8000)")
    _add_simulator_arguments(demo)

    simulate = commands.add_parser(
        "simulate", help="run the five upstream simulators on loopback until interrupted"
    )
    simulate.add_argument("--host", default="127.0.0.1")
    _add_simulator_arguments(simulate)

    export = commands.add_parser(
        "export-schema", help="print the client SDL (what schema.graphql holds)"
    )
    export.add_argument(
        "--federation",
        action="store_true",
        help="print the subgraph SDL a supergraph composes instead (what subgraph.graphql holds)",
    )
    return parser


def _add_simulator_arguments(simulate: argparse.ArgumentParser) -> None:
    for name in NAMES:
        simulate.add_argument(
            f"--{name}-port", type=_port, default=DEFAULT_PORTS[name], metavar="PORT",
            help=f"port of the {name} simulator (default {DEFAULT_PORTS[name]})",
        )  # fmt: skip
    simulate.add_argument("--seed", type=int, default=DEFAULT_SEED, help="data set seed")
    simulate.add_argument(
        "--scale", type=_scale, metavar="N",
        help=f"a real-sized account, N (1-{MAX_SCALE}) times a small team's: ties on shared start "
        "times, nulls wherever the vendors allow (without it: the default data set)",
    )  # fmt: skip
    for size in fields(DatasetSizes):
        flag = f"--{size.name.replace('_', '-')}-count"
        simulate.add_argument(
            flag, dest=f"size_{size.name}", type=_size, metavar="N",
            help=f"records for {size.name} (default {size.default}, or as --scale says)",
        )  # fmt: skip
    simulate.add_argument(
        "--no-rate-limits", action="store_true", help="do not enforce the documented rate limits"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        match args.command:
            case "export-schema":
                schema = build_schema()
                print(subgraph_sdl(schema) if args.federation else client_sdl(schema))
            case "serve":
                # Refused here, clearly, rather than in each worker.
                log_format = Settings().log_format or "json"
                uvicorn.run(
                    "gateway.app:create_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, log_config=logging_config(log_format), access_log=False,
                )  # fmt: skip
            case "demo" | "simulate":
                with contextlib.suppress(KeyboardInterrupt):
                    asyncio.run(_demo(args) if args.command == "demo" else _simulate(args))
    except OSError as error:  # most often: a port is taken
        print(f"meetings-gateway: {error}", file=sys.stderr)
        return 1
    except ValidationError as error:
        print(f"meetings-gateway: invalid configuration\n{describe(error)}", file=sys.stderr)
        return 2
    return 0


def describe(error: ValidationError) -> str:
    """One line per bad setting, named as its environment variable, without its value (it
    may be a secret)."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        name = "__".join(str(part).upper() for part in problem["loc"])
        lines.append(f"  GATEWAY_{name}: {problem['msg']}")
    return "\n".join(lines)


def dataset_sizes(args: argparse.Namespace) -> DatasetSizes:
    """The sizes `--scale` gives (or the defaults), with each `--<api>-count` given on top."""
    base = DatasetSizes() if args.scale is None else DatasetSizes.scaled(args.scale)
    given = {f.name: getattr(args, f"size_{f.name}") for f in fields(DatasetSizes)}
    return replace(base, **{name: size for name, size in given.items() if size is not None})


def _simulators(args: argparse.Namespace) -> AbstractAsyncContextManager[Simulators]:
    dataset = build_dataset(seed=args.seed, sizes=dataset_sizes(args), scale=args.scale)
    ports = {name: getattr(args, f"{name}_port") for name in NAMES}
    return running_simulators(
        dataset, host=args.host, ports=ports, rate_limits=not args.no_rate_limits
    )


async def _simulate(args: argparse.Namespace) -> None:
    async with _simulators(args) as simulators:
        print_simulators(simulators, host=args.host)
        if args.scale is not None:
            print_counts(simulators.dataset, scale=args.scale)
        await _until_interrupted()


async def _demo(args: argparse.Namespace) -> None:
    async with _simulators(args) as simulators:
        print_simulators(simulators, host=args.host)
        if args.scale is not None:
            print_counts(simulators.dataset, scale=args.scale)
        settings = Settings()  # the environment still sets timeouts, cache...
        upstreams = {
            sim.name: settings.source(Source(sim.name)).model_copy(
                update={"base_url": sim.base_url, "api_key": SecretStr(sim.api_key)}
            )
            for sim in simulators
        }
        app = create_app(settings.model_copy(update=upstreams))
        log_config = logging_config(settings.log_format or "text")
        server = uvicorn.Server(
            uvicorn.Config(
                app, host=args.host, port=args.port, log_config=log_config, access_log=False
            )
        )
        print(f"GraphiQL: http://{args.host}:{args.port}/graphql  (Ctrl-C stops everything)")
        sys.stdout.flush()
        await server.serve()


def print_simulators(simulators: Simulators, *, host: str) -> None:
    dataset = simulators.dataset
    print(f"Simulators ready (data seed {dataset.seed}, now {dataset.now:%Y-%m-%dT%H:%M:%SZ}):")
    for simulator in simulators:
        base_url = f"http://{host}:{simulator.port}{simulator.api.prefix}"
        print(f"  {simulator.name:<11} {base_url:<36} key {simulator.api_key}")
    print("Admin API: <origin>/__admin/{requests,faults,records,rate-limits}.")
    sys.stdout.flush()


def print_counts(dataset: Dataset, *, scale: int) -> None:
    """How big the scaled account came out (some counts are drawn, not given)."""
    nexor = sum(len(meetings) for meetings in dataset.nexor_meetings.values())
    print(
        f"Records at scale {scale}: leezy {len(dataset.leezy)} meetings, nexor {nexor} meetings "
        f"of {len(dataset.nexor_leads)} leads, meetstream {len(dataset.meetstream)} bots, "
        f"salesloft {len(dataset.salesloft)} meetings, daily {len(dataset.daily)} sessions."
    )
    sys.stdout.flush()


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
