"""Run by a build kernel before the chapter's first cell: note every file of the project it opens.

``tools/build_site.py`` starts each chapter's kernel with this file in IPython's
``exec_files``. An audit hook appends the path of every file opened under the
project root (module sources on import, data files read by pandas or numpy) to
the file named by ``SCALING_LAB_READS``, once per path. The build keys the
chapter's cached outputs on the contents of those files, so a change to any of
them re-executes the chapter. Nothing is left in the notebook's namespace.
"""


def _install():
    import os
    import sys

    log_path = os.environ.get("SCALING_LAB_READS")
    root = os.environ.get("SCALING_LAB_ROOT")
    if not log_path or not root:
        return
    root = os.path.join(os.path.realpath(root), "")
    skip = {"_build", ".venv", ".git", "__pycache__"}
    seen: set[str] = set()
    log = open(log_path, "a", encoding="utf-8", buffering=1)

    def hook(event, args):
        if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        try:
            path = os.fsdecode(args[0])
            if path in seen:
                return
            seen.add(path)
            full = os.path.realpath(path)
            if full.startswith(root) and not set(full[len(root):].split(os.sep)) & skip:
                log.write(full[len(root):] + "\n")
        except Exception:  # never let bookkeeping break a chapter
            pass

    sys.addaudithook(hook)


_install()
del _install
