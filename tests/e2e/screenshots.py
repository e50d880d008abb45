"""Screenshots of every dashboard page for docs/img/ (`make screenshots`), taken as the
browser test takes them (tests/support/browser.py): the real server on a publication,
one full-page PNG per page of the menu, named `dashboard-<page>.png`.

Reads the publication `make run` leaves (or `--published`); needs Debian's chromium.
The PNGs are reduced to 256 colours (the app's palette is small) to keep the repository light.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard.navigation import PAGES
from leadbridge.paths import REPO_ROOT, published_path, warehouse_path
from tests.e2e.test_dashboard_browser import FIGURES, value
from tests.support.browser import (
    VIEWPORT,
    BrowserUnavailable,
    chromium,
    chromium_executable,
    dashboard_server,
    metric,
    open_page,
    screenshot,
    screenshot_name,
    type_in,
)


def compress(path: Path) -> Path:
    """Rewrite the PNG at `path` with a palette of 256 colours, undithered."""
    from PIL import Image

    with Image.open(path) as shot:
        palette = shot.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--published", type=Path, default=published_path(warehouse_path()))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    if not args.published.exists():
        print(f"no publication at {args.published}: run `make run` first", file=sys.stderr)
        return 1
    try:
        executable = chromium_executable()
    except BrowserUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with dashboard_server(args.published) as url, chromium(executable) as browser:
        page = browser.new_page(viewport=VIEWPORT)
        for script, title in PAGES:
            open_page(page, url, title)
            # a page that shows nothing until asked is shot with the test's search typed
            figure = FIGURES.get(script)
            if figure is not None and figure.typed is not None:
                type_in(page, str(value(args.published, figure.typed)))
                metric(page, figure.label)
            shot = compress(screenshot(page, args.out / screenshot_name(script)))
            print(f"{shot} ({shot.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
