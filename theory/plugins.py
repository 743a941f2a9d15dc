"""Claims that users add: a plugin is a module defining ``FAMILY`` (a ``theory.claims.Family``),
named on the command line (``--plugin package.module``, ``--plugin package.module:attribute``
or ``--plugin path/to/file.py``) or declared by an installed package in the entry-point group
``raft_verify.claims`` (value ``package.module`` or ``package.module:attribute``). Both go
through ``load``; a plugin that cannot be loaded, or whose claim ids are taken, is left out with
one line saying why, and every other claim still runs. docs/howto/write-a-claim.md shows how."""

import importlib
import importlib.metadata
import importlib.util
import shlex
from dataclasses import replace
from pathlib import Path

from theory import containment

GROUP = "raft_verify.claims"


class PluginError(Exception):
    """A plugin that cannot be used; its message is one line naming the plugin."""


def _module(spec: str):
    if spec.endswith(".py"):
        path = Path(spec)
        if not path.is_file():
            raise PluginError(f"plugin {spec}: no such file")
        loader = importlib.util.spec_from_file_location(f"raft_verify_plugin_{path.stem}", path)
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


def load(spec: str, replay_option: str = ""):
    """The family a plugin defines: the module's ``FAMILY``, or the attribute after ':'.
    ``replay_option`` is what a replay command needs to find it again (``--plugin SPEC`` for a
    plugin named on the command line, nothing for an installed one)."""
    from theory.claims import Family

    name, _, attribute = spec.partition(":") if not spec.endswith(".py") else (spec, "", "")
    try:
        with containment.stdout_to_stderr():  # its printing never reaches `list --json`
            module = _module(name)
    except (PluginError, KeyboardInterrupt):
        raise
    except (
        BaseException
    ) as error:  # a plugin's own code: any failure to import, an exit too, is its failure
        raise PluginError(
            f"plugin {spec}: cannot be imported ({type(error).__name__}: {error})"
        ) from None
    family = getattr(module, attribute or "FAMILY", None)
    if not isinstance(family, Family):
        raise PluginError(
            f"plugin {spec}: defines no {attribute or 'FAMILY'} that is a theory.claims.Family"
        )
    return replace(family, plugin=spec, replay_option=replay_option)


def installed() -> list[tuple[str, str]]:
    """(name, value) of every entry point in the group, from the installed packages."""
    return [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group=GROUP)]


def discover(specs: list[str], taken: set[str]) -> tuple[list, list[str]]:
    """The families of the installed plugins and of ``specs`` (named on the command line), and
    one line per plugin left out. A plugin whose claim ids are already taken (by the toolkit or
    an earlier plugin) is left out whole."""
    families, errors = [], []
    sources = [(value, "") for _, value in installed()] + [
        (spec, f"--plugin {shlex.quote(spec)}") for spec in specs
    ]
    for spec, option in sources:
        try:
            family = load(spec, option)
        except PluginError as error:
            errors.append(str(error))
            continue
        ids = [c.id for c in family.claims]
        clashes = sorted(set(ids) & taken | {i for i in ids if ids.count(i) > 1})
        if clashes:
            errors.append(
                f"plugin {spec}: claim id {', '.join(map(repr, clashes))} is already taken; left out"
            )
            continue
        taken |= set(ids)
        families.append(family)
    return families, errors
