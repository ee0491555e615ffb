"""The API reference, generated from the package: a page per concept module and per subpackage.

At ``config-inited`` this writes ``book/api/<name>.md`` for the package itself, for each concept
module (``scaling_lab.queueing``) and for each subpackage (``scaling_lab.simulation``), and removes
pages that are gone; ``_toc.yml`` lists them with a glob under ``book/api``. A subpackage's page has
its docstring and then a heading and an ``automodule`` for each of its modules, so every public
module (no part of its dotted name starts with ``_``) has its own heading, and a new module
appears with no hand edit. (A page per module made 73 pages; each page of the site costs about a
tenth of a second to render whatever its size, and 27 pages render in 23 s instead of 29 s.)

Docstrings may refer to a public name by its front-door path (``:func:`scaling_lab.simulate_pool```)
or by its bare name (``:func:`simulate_pool```): a reference Sphinx cannot resolve is retried at the
module that defines the name. After reading, every name of ``scaling_lab.__all__`` must have an object
description; a missing one is a warning, and the build runs with warnings as errors.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

PACKAGE = "scaling_lab"
FOLDER = Path("book") / "api"


def public_modules() -> list[str]:
    package = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{PACKAGE}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _constants(module: str) -> list[str]:
    """Front-door names that are plain values (no ``__module__``) assigned at the top of ``module``."""
    import re

    package = importlib.import_module(PACKAGE)
    mod = importlib.import_module(module)
    try:
        source = Path(mod.__file__).read_text(encoding="utf-8")
    except (OSError, TypeError):
        return []
    from sphinx.pycode import ModuleAnalyzer

    documented = {name for _, name in ModuleAnalyzer.for_module(module).find_attr_docs()}  # :members: has them
    return [name for name in package.__all__ if not hasattr(getattr(package, name), "__module__")
            and name not in documented and re.search(rf"^{name}\s*[:=]", source, re.M)]


def section(module: str, level: int = 1) -> str:
    """A heading and the module's ``automodule``: a package's docstring, or a module's docstring and members."""
    is_package = hasattr(importlib.import_module(module), "__path__")
    options = "" if is_package else "   :members:\n"
    constants = "".join(f"\n.. autodata:: {module}.{name}\n" for name in ([] if is_package else _constants(module)))
    return f"{'#' * level} `{module}`\n\n```{{eval-rst}}\n.. automodule:: {module}\n{options}{constants}```\n"


def page_name(module: str) -> str:
    """The page that documents ``module``: the package, a concept module, or the subpackage holding it."""
    return ".".join(module.split(".")[:2])


def pages() -> dict[str, str]:
    """Page name -> its MyST text: each page's own module first, then a section per module inside it."""
    grouped: dict[str, list[str]] = {}
    for module in public_modules():
        grouped.setdefault(page_name(module), []).append(module)
    return {name: section(name) + "".join("\n" + section(m, 2) for m in modules if m != name)
            for name, modules in grouped.items()}


def write_pages(srcdir: Path) -> list[Path]:
    folder = srcdir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {folder / f"{name}.md": text for name, text in pages().items()}
    for path, text in wanted.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:  # unchanged pages keep their mtime
            path.write_text(text, encoding="utf-8")
    for path in folder.glob("*.md"):
        if path not in wanted:
            path.unlink()
    return sorted(wanted)


def defining_path(name: str) -> str | None:
    """``scaling_lab.X`` or ``X`` for a front-door name -> the dotted path where X is defined."""
    package = importlib.import_module(PACKAGE)
    short = name.lstrip("~.").rsplit(".", 1)[-1]
    if short not in getattr(package, "__all__", ()):
        return None
    module = getattr(getattr(package, short), "__module__", None)
    return f"{module}.{short}" if module and module.startswith(PACKAGE) else f"{PACKAGE}.{short}"


def _config_inited(app, config):
    write_pages(Path(app.srcdir))


def _lookup(module: str, dotted: str):
    """The object ``module.dotted`` if it exists (attribute chain after an import), else ``None``."""
    try:
        obj = importlib.import_module(module)
        for part in dotted.split("."):
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError, ValueError):
        return None


def _missing_reference(app, env, node, contnode):
    """Resolve a reference by the front door or by the module it is written in; text if it exists undocumented."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    module, cls = node.get("py:module") or PACKAGE, node.get("py:class")
    candidates, found = [], False
    front = defining_path(target)
    if front:
        candidates.append(front)
    for context, name in ((module, f"{cls}.{target}" if cls else None), (module, target), (PACKAGE, target)):
        obj = _lookup(context, name) if name else None
        if obj is None:
            continue
        found = True
        qualname = getattr(obj, "__qualname__", None)
        if getattr(obj, "__module__", None) and qualname:
            candidates.append(f"{obj.__module__}.{qualname}")
        candidates.append(f"{context}.{name}")
    if node.get("reftype") == "mod":
        package = module.rsplit(".", 1)[0]
        found = found or any(_lookup(name, "__name__") is not None
                             for name in (target, f"{module}.{target}", f"{package}.{target}"))
    domain = env.get_domain("py")
    for path in dict.fromkeys(candidates):
        if path != node.get("reftarget"):
            resolved = domain.resolve_xref(env, node.get("refdoc", ""), app.builder, node["reftype"], path, node,
                                           contnode)
            if resolved is not None:
                return resolved
    # It exists but is private or undocumented (a hook method, an internal module): plain text, no link.
    return contnode if found else None


def missing_names(objects: set[str]) -> list[str]:
    """Names of ``scaling_lab.__all__`` with no object description among ``objects`` (dotted paths)."""
    package = importlib.import_module(PACKAGE)
    short = {path.rsplit(".", 1)[-1] for path in objects if path.startswith(PACKAGE)}
    return sorted(name for name in package.__all__
                  if defining_path(name) not in objects and name not in short)


def _check(app, env):
    objects = set(env.get_domain("py").objects)
    for name in missing_names(objects):
        from sphinx.util import logging

        logging.getLogger(__name__).warning(f"{PACKAGE}.{name} is public but missing from the API reference")


def setup(app):
    app.connect("config-inited", _config_inited, priority=10)
    app.connect("missing-reference", _missing_reference)
    app.connect("env-check-consistency", _check)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
