"""Synthetic deliveries that pass every rule, for tests and benchmarks: `disval generate`.

Each standard generates its own deliveries through the
`disval_delivery_generator` hook (what its DDIDs mean is the standard's
knowledge); this module finds the generator, resolves the codelist source
the way `--codelists` does, and is the command line. The building blocks
(byte matrices, code pickers, deterministic zips) are in `disval.core.synthetic`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import NamedTuple, Protocol

from .plugins import get_plugin_manager

# The standard `disval generate` writes when none is named: the first one disval shipped, so that
# scripts written before there were two keep working.
DEFAULT_STANDARD = "GA-OHW-GBG-1.0"


class GeneratorSize(NamedTuple):
    """A count a generator takes (`--trajects N`): its default and what it counts."""

    default: int
    help: str


class DeliveryGenerator(Protocol):
    """What the `disval_delivery_generator` hook returns."""

    sizes: dict[str, GeneratorSize]  # the counts it takes, by name, e.g. {"records": ...}
    default_created: dt.date  # creation date when none is given: one the standard is valid on

    def generate(self, path_or_dir, standard, *, sizes: dict[str, int], seed: int, phase: str, provider: str,
                 branch: str, created: dt.date, sequence: str, codelists) -> Path:
        """Write a valid delivery zip (named as the standard names zips) and return its path.

        `codelists` is a codelist provider or None (no source: draw codes the rules cannot check).
        """


def generate_delivery(
    path_or_dir, *, standard=None, seed: int = 0, phase: str = "test", provider: str = "94001234",
    branch: str = "00", created: dt.date | None = None, sequence: str = "01", codelists=None, pm=None,
    **sizes: int,
) -> Path:
    """Write a valid delivery (zip) of `standard` and return its path.

    `standard` is a Standard, a standard id, or None for `DEFAULT_STANDARD`. `path_or_dir` is a
    directory (the zip gets the standard's name there) or the zip's full path, whose name must then
    be that name. `sizes` are the counts the standard's generator takes (GA OHW-GBG: `trajects`,
    `profiles`; GA DBC-GGZ: `records`); missing ones take the generator's defaults. `codelists` is a
    codelist provider, a directory of NZa codelist files, or None for the standard's shipped lists.
    The same arguments always give the same bytes.
    """
    pm = pm or get_plugin_manager()
    std = resolve_standard(pm, standard)
    generator = pm.hook.disval_delivery_generator(standard=std)
    if generator is None:
        raise ValueError(f"no installed plugin generates deliveries of {std.id}")
    unknown = sorted(set(sizes) - set(generator.sizes))
    if unknown:
        raise ValueError(f"the {std.id} generator takes {', '.join(generator.sizes) or 'no counts'}, "
                         f"not {', '.join(unknown)}")
    counts = {name: (sizes[name] if sizes.get(name) is not None else size.default)
              for name, size in generator.sizes.items()}
    if any(v < 0 for v in counts.values()):
        raise ValueError(f"{' and '.join(counts)} must be 0 or more")
    if phase not in std.naming.phases.values():
        raise ValueError(f"phase must be one of {', '.join(std.naming.phases.values())}, not {phase!r}")
    return generator.generate(
        path_or_dir, std, sizes=counts, seed=seed, phase=phase, provider=provider, branch=branch,
        created=created or generator.default_created, sequence=sequence, codelists=_provider(pm, std, codelists),
    )


def resolve_standard(pm, standard):
    """`standard` itself if it is a Standard, else the installed one with that id (None: `DEFAULT_STANDARD`)."""
    from .pipeline import standards

    if standard is not None and not isinstance(standard, str):
        return standard
    known = standards(pm)
    wanted = standard or DEFAULT_STANDARD
    if wanted not in known:
        raise ValueError(f"unknown standard {wanted!r}; installed: {', '.join(sorted(known))}")
    return known[wanted]


def _provider(pm, standard, codelists):
    if codelists is not None and hasattr(codelists, "codelist"):
        return codelists
    # Through the hook, so a path means exactly what `--codelists` means.
    return pm.hook.disval_codelist_provider(standard=standard, location=str(codelists) if codelists else None)


# ---------------------------------------------------------------- command line


def add_generate_command(subparsers) -> argparse.ArgumentParser:
    """Register `disval generate` on an argparse subparsers object; `args.func(args)` returns the exit code."""
    p = subparsers.add_parser(
        "generate", help="write a valid synthetic delivery of a standard",
        description="Write a synthetic delivery that passes every rule of its standard, and print its path.",
    )
    p.add_argument("--standard", metavar="ID", help=f"the standard's id ({DEFAULT_STANDARD})")
    sizes = _installed_sizes()
    for name, helps in sizes.items():
        p.add_argument(f"--{name}", type=_count, metavar="N", help="; ".join(helps))
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed; same seed, same bytes (0)")
    p.add_argument("--phase", choices=("test", "production"), default="test")
    p.add_argument("--provider", default="94001234", metavar="AGB", help="AGB code, 8 digits (94001234)")
    p.add_argument("--branch", default="00", metavar="II", help="instelling volgnr DIS, 2 digits (00)")
    p.add_argument("--created", type=_date, metavar="YYYY-MM-DD",
                   help="creation date (default: one the standard is valid on)")
    p.add_argument("--sequence", default="01", metavar="NN", help="volgnummer, 2 digits (01)")
    p.add_argument("--codelists", metavar="DIR", help="NZa codelist files to draw codes from (the shipped ones)")
    p.add_argument("-o", "--output", default=".", metavar="DIR", help="directory to write the zip in (.)")
    p.set_defaults(func=_run_generate, size_options=tuple(sizes))
    return p


def _installed_sizes() -> dict[str, list[str]]:
    """{count name: ["<standard>: what it counts (default)", ...]} over every installed generator."""
    from .pipeline import standards

    pm = get_plugin_manager()
    out: dict[str, list[str]] = {}
    for std_id, std in sorted(standards(pm).items()):
        generator = pm.hook.disval_delivery_generator(standard=std)
        for name, size in (generator.sizes.items() if generator else ()):
            out.setdefault(name, []).append(f"{std_id}: {size.help} ({size.default})")
    return out


def _run_generate(args) -> int:
    sizes = {name: getattr(args, name) for name in args.size_options if getattr(args, name) is not None}
    try:
        path = generate_delivery(
            args.output, standard=args.standard, seed=args.seed, phase=args.phase, provider=args.provider,
            branch=args.branch, created=args.created, sequence=args.sequence, codelists=args.codelists, **sizes,
        )
    except (ValueError, OSError) as exc:
        print(f"disval generate: error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def _count(text: str) -> int:
    value = int(text.replace("_", ""))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text}")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None
