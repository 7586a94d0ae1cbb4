"""The scripts and styles of the HTML map: which files, where they are installed, linked or inlined.

folium links Leaflet, jQuery, Bootstrap, Leaflet.awesome-markers, Font Awesome and Bootstrap 3
glyphicons from CDNs. gridsite's map draws with Leaflet alone (circle markers, polygons and
``DivIcon`` numbers, no icon fonts) and needs jQuery only because folium builds popups with it,
so those two are the only assets the map carries, at the versions folium links.

With ``"cdn"`` the page links folium's CDN URLs. With ``"inline"`` (the default) each file is read
from a local copy of its npm package and written into the page, with the images its CSS refers to
as ``data:`` URIs, so the page makes no network request. ``make assets`` fetches the packages
(``npm pack``) into ``<venv>/share/gridsite/map-assets/<package>/``; the environment variable
``GRIDSITE_MAP_ASSETS`` names another folder of the same layout.

Run as ``python -m gridsite.report.mapassets`` this module prints the npm package specs
(``name@version``, one a line) that ``make assets`` fetches.
"""

from __future__ import annotations

import base64
import html
import json
import mimetypes
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gridsite.errors import MapAssetsError

__all__ = [
    "ASSETS_ENV",
    "MAP_ASSET_MODES",
    "MapAsset",
    "MapAssetMode",
    "asset_html",
    "assets_dir",
    "check_map_assets",
    "default_assets_dir",
    "external_links",
    "map_assets",
]

MapAssetMode = Literal["inline", "cdn"]

MAP_ASSET_MODES: tuple[MapAssetMode, ...] = ("inline", "cdn")
"""How the map gets its scripts and styles: written into the page, or linked from their CDN."""

ASSETS_ENV = "GRIDSITE_MAP_ASSETS"
"""Environment variable naming the folder of the map's npm packages (default: see
:func:`default_assets_dir`)."""

# folium's names of the assets the map uses, and their kind.
_USED: Mapping[str, Literal["js", "css"]] = {"leaflet": "js", "jquery": "js", "leaflet_css": "css"}

# CDN URL forms folium links, mapped onto (npm package, version, path inside the package).
_JSDELIVR_NPM = re.compile(r"^https://cdn\.jsdelivr\.net/npm/((?:@[^/@]+/)?[^/@]+)@([^/]+)/(.+)$")
_JQUERY_CDN = re.compile(r"^https://code\.jquery\.com/jquery-(\d+\.\d+\.\d+)\.min\.js$")

_SOURCE_MAP = re.compile(
    r"^\s*(?://[#@]\s*sourceMappingURL=\S*|/\*[#@]\s*sourceMappingURL=.*?\*/)\s*$", re.M
)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
_EXTERNAL_LINK = re.compile(
    r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""", re.I
)


@dataclass(frozen=True)
class MapAsset:
    """One script or style sheet of the map.

    Attributes
    ----------
    name
        folium's name of the asset (``"leaflet"``, ``"jquery"``, ``"leaflet_css"``).
    kind
        ``"js"`` or ``"css"``.
    url
        The CDN URL folium links.
    package
        The npm package holding the same file.
    version
        The package version (the one in ``url``).
    path
        The file inside the package, e.g. ``"dist/leaflet.js"``.
    """

    name: str
    kind: Literal["js", "css"]
    url: str
    package: str
    version: str
    path: str

    @property
    def npm_spec(self) -> str:
        """``package@version``, as ``npm pack`` takes it."""
        return f"{self.package}@{self.version}"


def _npm_location(url: str) -> tuple[str, str, str]:
    """Return (package, version, path inside the package) of a CDN URL folium links."""
    match = _JSDELIVR_NPM.match(url)
    if match:
        return match.group(1), match.group(2), match.group(3)
    match = _JQUERY_CDN.match(url)
    if match:
        return "jquery", match.group(1), "dist/jquery.min.js"
    raise ValueError(f"no npm package is known for the map asset {url}")


def map_assets() -> tuple[MapAsset, ...]:
    """Return the assets the map uses, at the URLs and versions the installed folium links."""
    import folium  # imported here: `import gridsite.report` must not load folium

    links = {name: url for name, url in [*folium.Map.default_js, *folium.Map.default_css]}
    missing = [name for name in _USED if name not in links]
    if missing:  # pragma: no cover - a folium release that renamed its assets
        raise RuntimeError(f"the installed folium no longer links the map assets {missing}")
    out = []
    for name, kind in _USED.items():
        package, version, path = _npm_location(links[name])
        out.append(MapAsset(name, kind, links[name], package, version, path))
    return tuple(out)


def default_assets_dir() -> Path:
    """Return where ``make assets`` puts the map's packages: ``<venv>/share/gridsite/map-assets``.

    ``<venv>`` is the running Python's ``sys.prefix``.
    """
    return Path(sys.prefix) / "share" / "gridsite" / "map-assets"


def assets_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return the folder of the map's npm packages: ``GRIDSITE_MAP_ASSETS``, else the default.

    Parameters
    ----------
    environ
        Environment to read; default ``os.environ``.
    """
    env = os.environ if environ is None else environ
    value = env.get(ASSETS_ENV, "").strip()
    return Path(value).expanduser() if value else default_assets_dir()


def asset_html(
    assets: Sequence[MapAsset], mode: MapAssetMode, folder: Path | None = None
) -> list[tuple[str, str]]:
    """Return ``(name, HTML)`` for each asset: a CDN link, or the file inlined.

    Parameters
    ----------
    assets
        What to include, in order (see :func:`map_assets`).
    mode
        ``"cdn"``: ``<script src>`` / ``<link href>`` to ``asset.url``. ``"inline"``: the file's
        text in a ``<script>`` or ``<style>`` element, read from ``folder``; the relative
        ``url(...)`` images of a style sheet become ``data:`` URIs and source-map comments are
        dropped, so nothing is fetched.
    folder
        The map-assets folder (one subfolder per npm package); default :func:`assets_dir`.

    Raises
    ------
    MapAssetsError
        If ``mode`` is ``"inline"`` and a package is missing from ``folder`` or has another
        version than folium links.
    """
    if mode == "cdn":
        return [(a.name, _link(a)) for a in assets]
    if mode != "inline":
        raise ValueError(f"map assets must be one of {MAP_ASSET_MODES}, not {mode!r}")
    root = assets_dir() if folder is None else Path(folder)
    return [(a.name, _inline(a, root)) for a in assets]


def check_map_assets(mode: MapAssetMode, folder: Path | None = None) -> None:
    """Raise :class:`MapAssetsError` now if a map written with ``mode`` could not be.

    For a long run, call this before it starts rather than find out when the map is written.
    """
    asset_html(map_assets(), mode, folder)


def external_links(page: str) -> list[str]:
    """Return the URLs of every ``<script src>`` or ``<link href>`` in ``page`` that leaves it.

    Examples
    --------
    >>> external_links('<script src="https://x.org/a.js"></script><link href="b.css">')
    ['https://x.org/a.js']
    """
    return _EXTERNAL_LINK.findall(page)


def _link(asset: MapAsset) -> str:
    url = html.escape(asset.url, quote=True)
    if asset.kind == "js":
        return f'<script src="{url}"></script>'
    return f'<link rel="stylesheet" href="{url}"/>'


def _missing(asset: MapAsset, root: Path, problem: str) -> MapAssetsError:
    return MapAssetsError(
        f"cannot inline the map's {asset.name} ({asset.npm_spec}) from the map-assets folder "
        f"{root}: {problem}. Run `make assets` to fetch the map's scripts from npm, set "
        f"{ASSETS_ENV} to a folder holding them, or pass --map-assets cdn (assets='cdn') to "
        "link them from their CDN instead"
    )


def _package_file(asset: MapAsset, root: Path) -> Path:
    package = root / asset.package
    manifest = package / "package.json"
    try:
        version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except FileNotFoundError:
        raise _missing(asset, root, f"{manifest} does not exist") from None
    except (OSError, ValueError) as exc:
        raise _missing(asset, root, f"{manifest} cannot be read ({exc})") from None
    if version != asset.version:
        raise _missing(asset, root, f"{package} holds version {version}, not {asset.version}")
    path = package / asset.path
    if not path.is_file():
        raise _missing(asset, root, f"{path} does not exist")
    return path


def _inline(asset: MapAsset, root: Path) -> str:
    path = _package_file(asset, root)
    text = _SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))
    tag = "script" if asset.kind == "js" else "style"
    # Inside <script>/<style> only the closing tag (and, in a script, "<!--") ends or alters the
    # raw text; neither occurs in these releases, and rewriting minified code is not safe.
    if f"</{tag}" in text.lower() or (tag == "script" and "<!--" in text):
        raise MapAssetsError(
            f"{path} cannot be inlined: it contains '</{tag}' or '<!--'; run `make assets` for "
            "a clean copy of the package, or pass --map-assets cdn"
        )
    if asset.kind == "css":
        text = _CSS_URL.sub(lambda m: _data_uri(m, path.parent), text)
    return f"<{tag}>/* {asset.npm_spec}/{asset.path} */\n{text}\n</{tag}>"


def _data_uri(match: re.Match[str], base: Path) -> str:
    target = match.group(2).strip()
    if target.startswith(("#", "data:")):  # fragment (old IE behaviours) or inline already
        return match.group(0)
    if re.match(r"^[a-z][a-z0-9+.-]*:|^//", target, re.I):
        problem = f"refers to {target}, which would be fetched over the network"
    else:
        file = (base / target.split("?")[0].split("#")[0]).resolve()
        if file.is_file():
            mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            data = base64.b64encode(file.read_bytes()).decode("ascii")
            return f'url("data:{mime};base64,{data}")'
        problem = f"refers to {target}, which is missing at {file}"
    raise MapAssetsError(
        f"a style sheet of the map in {base} {problem}; run `make assets` for a clean copy of "
        "the package, or pass --map-assets cdn"
    )


if __name__ == "__main__":  # pragma: no cover - used by `make assets`
    print("\n".join(dict.fromkeys(a.npm_spec for a in map_assets())))
