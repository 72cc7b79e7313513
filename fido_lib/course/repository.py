"""The repository a course runs from (``course.toml``) and the launch links that name it.

``course.toml`` holds one table::

    [repository]
    repository = "owner/name"
    branch = "main"

It is read with the standard library's TOML parser (``tomllib``; ``tomli`` on Python
3.10). Writing keeps the file's comments: the two values are replaced in place and the
result is parsed again before anything is written, so the file stays valid TOML.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from ._files import load_toml

__all__ = [
    "BINDER_BADGE",
    "COLAB_BADGE",
    "CONFIG_FILE",
    "LaunchLink",
    "Repository",
    "badge_source",
    "launch_links",
    "read_repository",
    "repository_from_links",
    "rewrite_launch_urls",
    "update_readme",
    "write_repository",
]

CONFIG_FILE = "course.toml"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

# GitHub's names: an owner is 1-39 letters, digits or '-', not starting with '-'; a
# repository 1-100 letters, digits, '.', '_' or '-'. Branches: the same characters as a
# repository (no '/': Binder and Colab URLs would need it escaped differently), within
# git's rules for a ref (`git check-ref-format`). Matched with fullmatch: `$` would
# accept a trailing newline.
_OWNER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
_BRANCH_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
_BINDER_RE = re.compile(
    r"https://mybinder\.org/v2/gh/(?P<slug>[^/\s]+/[^/\s]+)/(?P<branch>[^?\s)#/\"']+)"
    r"(?:\?labpath=(?P<path>[^\s)#&\"']+))?")
_COLAB_RE = re.compile(
    r"https://colab\.research\.google\.com/github/(?P<slug>[^/\s]+/[^/\s]+)/blob/"
    r"(?P<branch>[^/\s]+)/(?P<path>[^\s)#?\"']+)")
_PIP_URL_RE = re.compile(r"git\+https://github\.com/(?P<slug>[^/\s@]+/[^/\s@]+)@(?P<branch>[^\s\"']+)")


def _slug_problem(slug: str) -> str | None:
    """Why GitHub would not accept ``slug`` as "owner/name", or None."""
    owner, sep, name = slug.partition("/")
    if not sep or not _OWNER_RE.fullmatch(owner) or not _NAME_RE.fullmatch(name):
        return ("it must look like 'owner/name' (owner: letters, digits, '-', not starting with '-'; "
                "name: letters, digits, '-', '.', '_')")
    if name in (".", ".."):
        return f"GitHub has no repository named {name!r}"
    if name.lower().endswith(".git"):
        return "GitHub does not allow a repository name ending in '.git'"
    return None


def _branch_problem(branch: str) -> str | None:
    """Why ``branch`` is not a branch name these URLs can carry (git's rules, no '/'), or None."""
    if not _BRANCH_RE.fullmatch(branch):
        return "it must be 1-100 letters, digits, '.', '_' or '-' (no '/')"
    if branch.startswith((".", "-")):
        return "git does not allow a branch name starting with '.' or '-'"
    if ".." in branch:
        return "git does not allow '..' in a branch name"
    if branch.endswith((".", ".lock")):
        return "git does not allow a branch name ending in '.' or '.lock'"
    if branch == "HEAD":
        return "'HEAD' is not a branch name"
    return None


@dataclass(frozen=True)
class Repository:
    """A GitHub repository ``slug`` ("owner/name") and ``branch`` the course runs from."""

    slug: str
    branch: str = "main"

    def __post_init__(self):
        for name, value, problem in (("repository", self.slug, _slug_problem),
                                     ("branch", self.branch, _branch_problem)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r}")
            why = problem(value)
            if why:
                raise ValueError(f"{name} {value!r} is not allowed: {why}")

    def binder_url(self, path: str) -> str:
        """Binder, opening ``path`` in JupyterLab (``labpath``)."""
        return f"https://mybinder.org/v2/gh/{self.slug}/{self.branch}?labpath={quote(path, safe='')}"

    def colab_url(self, path: str) -> str:
        """Colab, opening ``path`` from GitHub."""
        return f"https://colab.research.google.com/github/{self.slug}/blob/{self.branch}/{quote(path)}"

    @property
    def pip_requirement(self) -> str:
        """``fido_lib @ git+https://github.com/owner/name@branch``."""
        return f"fido_lib @ git+https://github.com/{self.slug}@{self.branch}"


def _parse_config(text: str, path: Path) -> Repository:
    data = load_toml(text, path)
    table = data.get("repository")
    if not isinstance(table, dict):
        raise ValueError(f"{path} has no [repository] table")
    values = []
    for key in ("repository", "branch"):
        value = table.get(key)
        if not isinstance(value, str):
            raise ValueError(f'{path}: [repository] needs `{key} = "..."`, got {value!r}')
        values.append(value)
    return Repository(*values)


def read_repository(root) -> Repository:
    """The repository named in ``root/course.toml``."""
    path = Path(root) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run this from the repository root (where {CONFIG_FILE} is)")
    return _parse_config(path.read_text(encoding="utf-8"), path)


def write_repository(root, repo: Repository) -> bool:
    """Rewrite the two values in ``root/course.toml`` (comments kept); True if it changed.

    The new text is parsed back and must name ``repo`` before it is written.
    """
    if not isinstance(repo, Repository):
        raise TypeError(f"repo must be a Repository, got {type(repo).__name__}")
    path = Path(root) / CONFIG_FILE
    text = path.read_text(encoding="utf-8")
    new = text
    for key, value in (("repository", repo.slug), ("branch", repo.branch)):
        # Repository() allows no quote, backslash or newline, so the value is a valid basic string.
        new, count = re.subn(rf'^([ \t]*{key}[ \t]*=[ \t]*)"[^"\n]*"', lambda m, v=value: f'{m.group(1)}"{v}"',
                             new, flags=re.MULTILINE)
        if count != 1:
            raise ValueError(f'{path} needs exactly one line `{key} = "..."`, found {count}')
    if _parse_config(new, path) != repo:
        raise ValueError(f"{path}: rewriting it would not name {repo.slug}@{repo.branch}; edit it by hand")
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def badge_source(repo: Repository, path: str) -> str:
    """Markdown for the Binder and Colab badges of the notebook at repository path ``path``."""
    return (f"[![Open in Binder]({BINDER_BADGE})]({repo.binder_url(path)}) "
            f"[![Open in Colab]({COLAB_BADGE})]({repo.colab_url(path)})")


@dataclass(frozen=True)
class LaunchLink:
    """One Binder or Colab link found in a text: which service, repository, branch and path."""

    service: str
    slug: str
    branch: str
    path: str | None


def launch_links(text: str) -> list[LaunchLink]:
    """Every Binder (``/v2/gh/...``) and Colab (``/github/...``) link in ``text``, in order."""
    found = []
    for service, pattern in (("binder", _BINDER_RE), ("colab", _COLAB_RE)):
        for m in pattern.finditer(text):
            path = m.group("path")
            found.append((m.start(), LaunchLink(service, m.group("slug"), m.group("branch"),
                                                unquote(path) if path else None)))
    return [link for _, link in sorted(found, key=lambda item: item[0])]


def repository_from_links(text: str) -> Repository | None:
    """The repository of the first launch link in ``text``, or None."""
    links = launch_links(text)
    return Repository(links[0].slug, links[0].branch) if links else None


def rewrite_launch_urls(text: str, repo: Repository) -> str:
    """``text`` with every Binder, Colab and pip-from-GitHub link pointing at ``repo``."""
    text = _BINDER_RE.sub(lambda m: f"https://mybinder.org/v2/gh/{repo.slug}/{repo.branch}"
                          + (f"?labpath={m.group('path')}" if m.group("path") else ""), text)
    text = _COLAB_RE.sub(lambda m: f"https://colab.research.google.com/github/{repo.slug}/blob/"
                         f"{repo.branch}/{m.group('path')}", text)
    return _PIP_URL_RE.sub(f"git+https://github.com/{repo.slug}@{repo.branch}", text)


def update_readme(text: str, repo: Repository, first_notebook: str | None) -> str:
    """README text with its launch links pointing at ``repo`` and its badge block filled.

    The block sits between ``<!-- badges -->`` and ``<!-- end badges -->`` (the end
    marker is added when missing) and holds the badges of ``first_notebook``, where
    a reader starts; with no notebook it holds a Binder badge to the repository.
    """
    text = rewrite_launch_urls(text, repo)
    start = "<!-- badges -->"
    if start not in text:
        return text
    if first_notebook:
        block = badge_source(repo, first_notebook)
    else:
        block = f"[![Open in Binder]({BINDER_BADGE})](https://mybinder.org/v2/gh/{repo.slug}/{repo.branch})"
    end = "<!-- end badges -->"
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1] if end in rest else rest
    return f"{head}{start}\n{block}\n{end}{tail}"
