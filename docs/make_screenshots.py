"""Take the README's screenshots from a Korea run: ``make screenshots`` (after ``make run``).

Opens ``maps/korea/map.html`` and the best site's page in Debian's headless Chromium, with the
network off (the pictures show what an offline user sees: no basemap), and writes
``docs/img/map.png`` and ``docs/img/site_page.png``. The pictures show data of the Korea pack
(OpenStreetMap lines, KOSTAT boundaries...); their attributions are in the map's Data box and in
the README's caption. Korean names need a CJK font (``fonts-noto-cjk``, which ``make
screenshots`` installs when missing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = Path(__file__).resolve().parents[1]

# Leaflet's map object is a global variable map_<hash>: find it among window's values.
_FIND_MAP = "var map = Object.values(window).find(v => v instanceof L.Map);"


def _browser(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        sys.exit("chromium and chromium-driver are needed: `make debs` installs them")
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        "--proxy-server=http://127.0.0.1:9",  # nothing leaves the machine
        "--proxy-bypass-list=<-loopback>",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(driver))


def _settle(browser: webdriver.Chrome) -> None:
    """Wait until Leaflet has finished its opening zoom."""
    for _ in range(50):
        if not browser.execute_script(_FIND_MAP + "return map._animatingZoom;"):
            break
        time.sleep(0.1)
    time.sleep(0.5)


def take(out_dir: Path, img_dir: Path) -> list[Path]:
    """Write the map and site-page screenshots of the run in ``out_dir`` into ``img_dir``."""
    sites = json.loads((out_dir / "sites.geojson").read_text(encoding="utf-8"))["features"]
    best = min(sites, key=lambda f: f["properties"]["rank"])["properties"]["site_id"]
    img_dir.mkdir(parents=True, exist_ok=True)
    written = []
    browser = _browser(1280, 860)
    try:
        browser.get((out_dir / "map.html").as_uri())
        _settle(browser)
        written.append(img_dir / "map.png")
        browser.save_screenshot(str(written[-1]))
        browser.set_window_size(1100, 1500)
        browser.get((out_dir / "sites" / f"{best}.html").as_uri())
        time.sleep(0.5)
        written.append(img_dir / "site_page.png")
        browser.save_screenshot(str(written[-1]))
    finally:
        browser.quit()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "maps" / "korea", help="a run's folder")
    parser.add_argument("--img", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args()
    if not (args.out / "map.html").is_file():
        sys.exit(f"{args.out / 'map.html'} does not exist: run `make run` first")
    for path in take(args.out, args.img):
        print(path)


if __name__ == "__main__":
    main()
