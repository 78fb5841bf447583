"""Check the built book the way a reader meets it: in headless Chromium, served from loopback, offline.

    .venv/bin/python ci/browser_check.py            # checks _build/html, screenshots in _build/screenshots

Used by ``tests/test_browser.py``. :func:`check_book` walks every page of the table of contents in
reading order by clicking each page's "next" link, and returns a list of problems (empty when all is
well). On every page it checks that

- the page loads (HTTP 200) and nothing is fetched from anywhere but the local server (offline);
- every image in the page body has loaded (``naturalWidth > 0``);
- the browser console logged no error;
- math rendered: MathJax (vendored, see ``ci/setup_extras.sh``) turned every math element into an
  ``mjx-container`` without a TeX error;
- chapter pages: the run-profile box, the provenance footer and a download button for the notebook are
  there, cell outputs show no Python warning and no progress bar printed more than once, and the
  chapter links the glossary;
- every page: no criterion or claim text is truncated (no table cell or claim card cut by
  ``text-overflow: ellipsis`` or hidden overflow, no code line running past the right edge of its block,
  no pandas "..." truncation in an output table); every
  verdict badge has its reason beside it (at least a sentence of text in the same paragraph, list item
  or table row); every figure in the page body has a caption or a takeaway (a ``figcaption``, or a
  paragraph right after the cell or figure that holds it);
- chapter pages: every notebook figure lies within one screen of prose that names a claim id (K1, E1, …),
  so that the figure sits beside the claim it tests (a cell tagged ``illustration`` is exempt);
- every figure is shown at no less than 1/1.3 of its natural width (``MAX_FIGURE_SCALE``), so that the
  smallest font the plotting theme allows (``scalinglab.plotting.MIN_FONT_PT`` at ``plotting.DPI``) is at
  least 9 pt (12 CSS px) on the page; a chapter's claims (cards) are never wider than the column;
- chapter pages: the "What we found" box is there (and screenshotted, ``<page>.found.png``);
- the report card: one claim card per claim, each with one verdict badge (colour and text) and its
  reason, each claim linking to an existing anchor in its chapter, and one forest plot per chapter that
  loaded;

and saves a screenshot of the top of each page (``<page>.png``) and of the whole page
(``<page>.full.png``).

Debian's ``chromium`` and ``chromium-driver`` are used (``/usr/bin/chromium``, ``/usr/bin/chromedriver``);
``ci/setup_extras.sh`` installs them.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlparse

from scalinglab.claims import VERDICTS

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
MIN_REASON_CHARS = 20
MAX_FIGURE_SCALE = 1.3  # natural width ÷ shown width of a figure
MIN_TEXT_PX = 12.0  # 9 pt at 96 CSS px per inch: the smallest text a figure may show  # "beside its reason": at least this much text next to a verdict badge
PYTHON_WARNING = re.compile(r"\b[A-Z]\w*Warning\b|\bwarnings\.warn\b")
# tqdm's text bar: "desc:  43%|████▎     | 3/7 [00:10<00:14, ...]"
PROGRESS_LINE = re.compile(r"^(?P<desc>[^\n|]*?):?\s*\d+%\|.*\|\s*\d+/\d+")


def chromium_missing_reason() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        return (f"{' and '.join(missing)} not found: Debian's chromium + chromium-driver are needed "
                "(bash ci/setup.sh installs them with apt-get where it can)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed in this environment (it is pinned in constraints.txt)"
    return None


# ---------------------------------------------------------------------------------------------------
# Serving and driving

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextlib.contextmanager
def chromium(width: int = 1280, height: int = 1000):
    """Headless Debian Chromium driven by selenium, with the browser console captured and every host but
    loopback unresolvable (so the book must work offline)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile_dir = tempfile.mkdtemp(prefix="scalinglab-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", f"--window-size={width},{height}",
                 f"--user-data-dir={profile_dir}",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


def _wait(driver, script: str, timeout: float = 30.0, poll: float = 0.1):
    """Poll a JavaScript expression until it is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return ({script});")
        if value:
            return value
        time.sleep(poll)
    return value


def _screenshot(driver, path: Path) -> None:
    """The top of the page (``path``) and the whole page (``<stem>.full.png``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    size = driver.get_window_size()
    try:
        height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);")
        driver.set_window_size(size["width"], min(int(height) + 200, 16000))
        driver.save_screenshot(str(path.with_suffix(".full.png")))
    finally:
        driver.set_window_size(size["width"], size["height"])


# ---------------------------------------------------------------------------------------------------
# Checks of one page (each returns a list of problems)

def check_load(driver, page: str) -> list[str]:
    status = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : null;")
    if status not in (200, None):
        return [f"{page}: HTTP status {status}"]
    return []


def check_offline(driver, page: str, base_url: str) -> list[str]:
    host = urlparse(base_url).netloc
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    foreign = sorted({u for u in urls if urlparse(u).scheme in ("http", "https") and urlparse(u).netloc != host})
    return [f"{page}: fetched from the network (the book must work offline): {u}" for u in foreign]


def check_images(driver, page: str) -> list[str]:
    _wait(driver, "Array.from(document.images).every(i => i.complete)", timeout=30)
    broken = driver.execute_script("""
        return Array.from(document.images)
          .filter(i => !(i.complete && i.naturalWidth > 0))
          .map(i => i.getAttribute('src'));""")
    return [f"{page}: figure did not load (naturalWidth 0): {src}" for src in sorted(set(broken))]


def check_console(driver, page: str, ignore: tuple[str, ...] = ()) -> list[str]:
    problems = []
    for entry in driver.get_log("browser"):
        if entry.get("level") == "SEVERE" and not any(pat in entry.get("message", "") for pat in ignore):
            problems.append(f"{page}: console error: {entry['message']}")
    return problems


def check_math(driver, page: str) -> list[str]:
    n_math = driver.execute_script("return document.querySelectorAll('.math').length;")
    if not n_math:
        return []
    ready = _wait(driver, "window.MathJax && MathJax.startup && MathJax.startup.document"
                          " && document.querySelectorAll('mjx-container').length > 0", timeout=30)
    if not ready:
        loaded = driver.execute_script("return typeof window.MathJax;")
        return [f"{page}: {n_math} math element(s) but MathJax rendered none (window.MathJax is {loaded})"]
    _wait(driver, "MathJax.startup.promise.then(() => window.__mjx_done = true) && window.__mjx_done", 30)
    counts = driver.execute_script("""
        return {math: document.querySelectorAll('.math').length,
                unrendered: Array.from(document.querySelectorAll('.math'))
                               .filter(e => !e.querySelector('mjx-container')).length,
                errors: document.querySelectorAll('mjx-merror').length};""")
    problems = []
    if counts["unrendered"]:
        problems.append(f"{page}: {counts['unrendered']} of {counts['math']} math element(s) not rendered by MathJax")
    if counts["errors"]:
        problems.append(f"{page}: MathJax reported {counts['errors']} TeX error(s)")
    return problems


def check_chapter(driver, page: str) -> list[str]:
    """Reader furniture and clean outputs on a chapter page."""
    problems = []
    found = driver.execute_script("""
        const q = s => document.querySelectorAll(s).length;
        return {run_box: q('.admonition.run-box'), provenance: q('.admonition.provenance'),
                objectives: q('.admonition.learning-objectives'), found: q('.admonition.what-we-found'),
                download: q('.dropdown-download-buttons a[href$=".ipynb"], a.reference.download[href$=".ipynb"]'),
                glossary: q('a[href*="glossary.html#term-"]')};""")
    for key, what in [("run_box", "run-profile box"), ("provenance", "provenance footer"),
                      ("objectives", "learning objectives box"), ("found", "What we found box"),
                      ("download", "notebook download link"),
                      ("glossary", "link to the glossary (add {term} roles to the chapter)")]:
        if not found[key]:
            problems.append(f"{page}: missing the {what}")
    outputs = driver.execute_script(
        "return Array.from(document.querySelectorAll('.cell_output')).map(e => e.textContent);")
    bars: dict[str, int] = {}
    for text in outputs:
        for match in PYTHON_WARNING.finditer(text):
            start = max(0, match.start() - 60)
            problems.append(f"{page}: a warning leaked into the page: …{text[start:match.end() + 60]!r}…")
        for line in re.split(r"[\r\n]+", text):
            m = PROGRESS_LINE.match(line.strip())
            if m:
                bars[m.group("desc").strip()] = bars.get(m.group("desc").strip(), 0) + 1
    problems += [f"{page}: progress bar {desc!r} printed {n} times (should be once)"
                 for desc, n in bars.items() if n > 1]
    return problems


def check_report_card(driver, page: str, html_dir: Path, claim_ids: list[str] | None,
                      n_chapters: int | None = None, published_ids: list[str] | None = None) -> list[str]:
    """One claim card per claim (a verdict badge with colour, text and its reason; a link to the claim in
    its chapter), every claim on models trained here with its audit line (power and false-positive rate),
    the claims computed from published numbers (``published_ids``) and only they in their own section, and
    one forest plot per chapter that loaded."""
    cards = driver.execute_script("""
        const anchor = document.getElementById('report-card-published');
        const published = anchor ? (anchor.closest('section') || anchor.parentElement) : null;
        return Array.from(document.querySelectorAll('.claim-card')).map(card => {
          const first = card.querySelector('p');
          const link = first ? first.querySelector('a') : null;
          const text = card.textContent.replace(/\\s+/g, ' ');
          return {id: link ? link.textContent.trim() : (first ? first.textContent.trim().split(' ')[0] : ''),
                  published: !!(published && published.contains(card)),
                  audited: /\\(power\\)/.test(text) && /\\(false-positive rate\\)/.test(text),
                  href: link ? link.getAttribute('href') : null,
                  badges: Array.from(card.querySelectorAll('.sd-badge')).map(b => ({
                     text: b.textContent.trim(), colour: getComputedStyle(b).backgroundColor}))};
        });""")
    if not cards:
        return [f"{page}: no claim cards"]
    problems = []
    seen = []
    for card in cards:
        seen.append(card["id"])
        if not card["published"] and not card["audited"]:  # a claim on models trained here shows its audit
            problems.append(f"{page}: claim {card['id']} shows no audit line (power and false-positive rate)")
        verdict_badges = [b for b in card["badges"] if any(b["text"].endswith(v) for v in VERDICTS)]
        if len(verdict_badges) != 1:
            problems.append(f"{page}: claim {card['id']} has {len(verdict_badges)} verdict badges (want 1)")
        elif verdict_badges[0]["colour"] in ("rgba(0, 0, 0, 0)", "transparent", ""):
            problems.append(f"{page}: claim {card['id']}'s badge has no colour")
        if not card["href"]:
            problems.append(f"{page}: claim {card['id']} does not link to its chapter")
            continue
        target, _, fragment = card["href"].partition("#")
        target_file = (html_dir / urlparse(urljoin(page, target)).path.lstrip("/"))
        if not target_file.exists():
            problems.append(f"{page}: claim {card['id']} links to a missing page {target}")
        elif fragment and f'id="{fragment}"' not in target_file.read_text(errors="replace"):
            problems.append(f"{page}: claim {card['id']} links to a missing anchor #{fragment} in {target}")
    if published_ids is not None and sorted(c["id"] for c in cards if c["published"]) != sorted(published_ids):
        problems.append(f"{page}: claims in the published-numbers section "
                        f"{sorted(c['id'] for c in cards if c['published'])} != {sorted(published_ids)}")
    if claim_ids is not None and sorted(seen) != sorted(claim_ids):
        problems.append(f"{page}: claims on the card {sorted(seen)} != claims with verdicts {sorted(claim_ids)}")
    forests = driver.execute_script("""
        return Array.from(document.images).filter(i => /\\.forest\\.png$/.test(i.getAttribute('src') || ''))
          .map(i => ({src: i.getAttribute('src'), width: i.naturalWidth}));""")
    if not forests:
        problems.append(f"{page}: no forest plot")
    problems += [f"{page}: forest plot did not render: {f['src']}" for f in forests if not f["width"]]
    if n_chapters is not None and len(forests) != n_chapters:
        problems.append(f"{page}: {len(forests)} forest plot(s) for {n_chapters} chapter(s) with verdicts")
    return problems


def check_truncation(driver, page: str) -> list[str]:
    """No claim, criterion, table cell or code line cut off: not by CSS (ellipsis, hidden overflow of a
    cell, claim card or table that is wider than its box; a code block whose lines run past its right
    edge) nor by pandas ("..." at the end of an output cell)."""
    cut = driver.execute_script("""
        const out = [];
        const hides = s => ['hidden', 'clip'].includes(s.overflowX) || ['hidden', 'clip'].includes(s.overflow);
        const els = document.querySelectorAll(
          'article td, article th, article .claim-card, article .claim-card li, article .claim-card p, article table');
        for (const el of els) {
          const s = getComputedStyle(el);
          const wider = el.scrollWidth > el.clientWidth + 1;
          if (wider && (s.textOverflow === 'ellipsis' || hides(s))) {
            out.push({how: s.textOverflow === 'ellipsis' ? 'text-overflow: ellipsis' : 'overflow hidden',
                      text: el.textContent.trim().slice(0, 80)});
          }
          if (el.tagName === 'TABLE' && el.parentElement) {
            const p = getComputedStyle(el.parentElement);
            if (hides(p) && el.getBoundingClientRect().right > el.parentElement.getBoundingClientRect().right + 1)
              out.push({how: 'a table wider than its box, whose overflow is hidden',
                        text: el.textContent.trim().slice(0, 80)});
          }
        }
        for (const pre of document.querySelectorAll('article pre')) {
          if (pre.scrollWidth > pre.clientWidth + 1)
            out.push({how: 'a code line runs past the right edge', text: pre.textContent.trim().slice(0, 80)});
        }
        for (const td of document.querySelectorAll('.cell_output td, .cell_output th')) {
          const t = td.textContent.trim();
          if (t.endsWith('...') && t.length > 8) out.push({how: 'pandas truncation ("...")', text: t.slice(-80)});
        }
        return out;""")
    return [f"{page}: text cut off ({c['how']}): {c['text']!r}" for c in cut]


def check_figure_scale(driver, page: str) -> list[str]:
    """Every figure shown at most ``MAX_FIGURE_SCALE`` times smaller than its natural size, and the theme's
    smallest font (``plotting.MIN_FONT_PT`` points at ``plotting.DPI``) at least ``MIN_TEXT_PX`` on the page.
    Returns the problems; the scales seen are in :func:`figure_scales`."""
    from scalinglab import plotting

    problems = []
    for f in figure_scales(driver):
        if not f["shown"]:
            continue
        scale = f["natural"] / f["shown"]
        text_px = plotting.MIN_FONT_PT * plotting.DPI / 72 / scale
        if scale > MAX_FIGURE_SCALE + 1e-6 or text_px < MIN_TEXT_PX:
            problems.append(f"{page}: a figure is shown at 1/{scale:.2f} of its width ({f['natural']} px in "
                            f"{f['shown']} px), its smallest text at {text_px:.1f} px (needs ≥ {MIN_TEXT_PX:g} px, "
                            f"scale ≤ {MAX_FIGURE_SCALE}): {f['src'][-60:]}")
    return problems


def figure_scales(driver) -> list[dict]:
    """Natural and shown width (CSS px) of every image in the page body."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('article img')).filter(i => i.naturalWidth > 0)
          .map(i => ({src: i.currentSrc || i.src, natural: i.naturalWidth, shown: i.getBoundingClientRect().width}));""")


def check_claims_width(driver, page: str) -> list[str]:
    """A chapter's claims (``claims_table``'s cards) fit the column: no card wider than the article."""
    wide = driver.execute_script("""
        const art = document.querySelector('article');
        if (!art) return [];
        const right = art.getBoundingClientRect().right + 1;
        return Array.from(document.querySelectorAll('.claims-cards, .claims-card'))
          .filter(e => e.getBoundingClientRect().right > right || e.scrollWidth > e.clientWidth + 1)
          .map(e => e.textContent.trim().slice(0, 60));""")
    return [f"{page}: a claim card is wider than the column: {w!r}" for w in wide]


def check_badge_reasons(driver, page: str) -> list[str]:
    """Every verdict badge has its reason beside it: enough text, besides the badges and the claim's id,
    in its paragraph, list item or table row."""
    lonely = driver.execute_script("""
        const verdicts = arguments[0], need = arguments[1];
        const out = [];
        for (const b of document.querySelectorAll('article .sd-badge')) {
          const text = b.textContent.trim();
          if (!verdicts.some(v => text.endsWith(v))) continue;
          const block = b.closest('tr') || b.closest('li, p, dd') || b.parentElement;
          let rest = block.textContent;
          for (const other of block.querySelectorAll('.sd-badge')) rest = rest.replace(other.textContent, '');
          for (const a of block.querySelectorAll('a')) if (a.textContent.trim().length <= 6) rest = rest.replace(a.textContent, '');
          rest = rest.replace(/\\(headline\\)/g, '').trim();
          if (rest.length < need) out.push(block.textContent.trim().slice(0, 80));
        }
        return out;""", list(VERDICTS), MIN_REASON_CHARS)
    return [f"{page}: a verdict badge without its reason beside it: {t!r}" for t in lonely]


def check_figure_captions(driver, page: str) -> list[str]:
    """Every figure in the page body has a caption (``figcaption``) or a takeaway: a paragraph right after
    the figure, or right after the notebook cell whose output it is."""
    bare = driver.execute_script("""
        const out = [];
        for (const img of document.querySelectorAll('article img')) {
          if (img.closest('.sd-badge, .admonition.run-box, .admonition.provenance')) continue;
          const fig = img.closest('figure');
          if (fig && fig.querySelector('figcaption') && fig.querySelector('figcaption').textContent.trim()) continue;
          const holder = img.closest('div.cell') || fig || img.closest('p') || img;
          let next = holder.nextElementSibling;
          while (next && next.matches('div.cell') && !next.querySelector('.cell_output')) next = next.nextElementSibling;
          if (next && next.tagName === 'P' && next.textContent.trim().length >= 20) continue;
          out.push(img.getAttribute('src') || img.getAttribute('alt') || '(inline image)');
        }
        return out;""")
    return [f"{page}: a figure without a caption or a takeaway right after it: {src}" for src in bare]


CLAIM_ID = r"\b[A-Z]{1,2}[0-9]{1,2}[A-Z]?\b"  # K1, E1, P0, Q3F: the claim ids of the chapters


def figures_near_claims(driver) -> list[dict]:
    """For every notebook figure on the page: its image source, and the distance in pixels from the figure
    to the nearest prose (paragraph, list item, table cell, heading or caption, outside code) that names a
    claim id — 0 when such prose overlaps the figure's band; None when no prose names a claim. Figures in a
    cell tagged ``illustration`` (a picture of the data, testing no claim) are left out."""
    return driver.execute_script("""
        const idPattern = new RegExp(arguments[0]);
        const prose = [];
        for (const el of document.querySelectorAll('article p, article li, article td, article h1, article h2,'
                                                   + ' article h3, article figcaption, article dd')) {
          if (el.closest('div.cell_input, pre, .highlight')) continue;
          if (!idPattern.test(el.textContent)) continue;
          const r = el.getBoundingClientRect();
          prose.push([r.top + window.scrollY, r.bottom + window.scrollY]);
        }
        const out = [];
        for (const img of document.querySelectorAll('article div.cell_output img')) {
          if (img.closest('.tag_illustration')) continue;
          const r = img.getBoundingClientRect();
          const top = r.top + window.scrollY, bottom = r.bottom + window.scrollY;
          let best = null;
          for (const [a, b] of prose) {
            const d = b < top ? top - b : (a > bottom ? a - bottom : 0);
            if (best === null || d < best) best = d;
          }
          out.push({src: img.getAttribute('src') || '(inline image)', distance: best, top: top});
        }
        return out;""", CLAIM_ID)


def check_figures_near_claims(driver, page: str) -> list[str]:
    """Every figure that tests a claim sits within one screen (the window's height) of prose naming the claim
    — so a reader sees the figure and the claim it tests together."""
    screen = driver.execute_script("return window.innerHeight;")
    return [f"{page}: a figure is {'not near any claim' if f['distance'] is None else str(round(f['distance'])) + ' px'}"
            f" from the nearest prose naming a claim (more than one screen, {screen} px): {f['src']}"
            for f in figures_near_claims(driver) if f["distance"] is None or f["distance"] > screen]


def _figure_screenshots(driver, page: str, folder: Path) -> None:
    """One screenshot per figure with the figure a third of the way down the window: what a reader sees
    when the figure is reached (``<page>.fig<N>.png``)."""
    for n, figure in enumerate(figures_near_claims(driver), start=1):
        driver.execute_script("window.scrollTo(0, Math.max(0, arguments[0] - window.innerHeight / 3));", figure["top"])
        time.sleep(0.1)
        driver.save_screenshot(str(folder / (page.replace("/", "__").removesuffix(".html") + f".fig{n}.png")))
    driver.execute_script("window.scrollTo(0, 0);")


def _box_screenshot(driver, selector: str, path: Path) -> None:
    """A screenshot of the window with the element ``selector`` at its top (if the page has one)."""
    found = driver.execute_script(
        "const e = document.querySelector(arguments[0]); if (!e) return false;"
        " window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 20); return true;", selector)
    if found:
        time.sleep(0.1)
        driver.save_screenshot(str(path))
        driver.execute_script("window.scrollTo(0, 0);")


# ---------------------------------------------------------------------------------------------------
# The walk

def toc_pages(toc: Path | None = None) -> list[str]:
    """The book's pages in reading order, as paths of HTML files relative to the output folder. By
    default from the table of contents the book was built with (``_book/_toc.yml``, the staged copy),
    else the repository's ``_toc.yml``."""
    sys.path.insert(0, str(ROOT / "ci"))
    from build_book import toc_files

    if toc is None:
        staged = ROOT / "_book" / "_toc.yml"
        toc = staged if staged.exists() else ROOT / "_toc.yml"
    return [f"{name}.html" for name in toc_files(Path(toc))]


def check_book(html_dir: Path, screenshots: Path | None = None, pages: list[str] | None = None,
               claim_ids: list[str] | None = None, n_chapters: int | None = None,
               published_ids: list[str] | None = None) -> list[str]:
    """Walk the book in headless Chromium, page by page via the "next" link; return every problem."""
    html_dir = Path(html_dir)
    pages = pages or toc_pages()
    problems: list[str] = []
    with serve(html_dir) as base_url, chromium() as driver:
        driver.get(urljoin(base_url, pages[0]))
        for i, page in enumerate(pages):
            here = urlparse(driver.current_url).path.lstrip("/")
            if here != page:
                problems.append(f"expected to be on {page} after following 'next', but on {here}")
                driver.get(urljoin(base_url, page))
            _wait(driver, "document.readyState === 'complete'", timeout=30)
            problems += check_load(driver, page)
            problems += check_images(driver, page)
            problems += check_math(driver, page)
            if page.startswith("chapters/"):
                problems += check_chapter(driver, page)
                problems += check_figures_near_claims(driver, page)
            problems += check_truncation(driver, page)
            problems += check_figure_scale(driver, page)
            problems += check_claims_width(driver, page)
            problems += check_badge_reasons(driver, page)
            problems += check_figure_captions(driver, page)
            if page == "report_card.html":
                problems += check_report_card(driver, page, html_dir, claim_ids, n_chapters, published_ids)
            problems += check_offline(driver, page, base_url)
            problems += check_console(driver, page)
            if screenshots is not None:
                _screenshot(driver, Path(screenshots) / (page.replace("/", "__").removesuffix(".html") + ".png"))
                if page.startswith("chapters/"):
                    _figure_screenshots(driver, page, Path(screenshots))
                    _box_screenshot(driver, ".admonition.what-we-found",
                                    Path(screenshots) / (page.replace("/", "__").removesuffix(".html") + ".found.png"))
            if i + 1 < len(pages):
                links = driver.find_elements("css selector", "a.right-next")
                if not links:
                    problems.append(f"{page}: no 'next page' link (expected one to {pages[i + 1]})")
                    driver.get(urljoin(base_url, pages[i + 1]))
                    continue
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", links[0])
                links[0].click()
                _wait(driver, f"location.pathname.endsWith({json.dumps('/' + pages[i + 1])})"
                              " && document.readyState === 'complete'", timeout=30)
    return problems


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", nargs="?", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--screenshots", default=str(ROOT / "_build" / "screenshots"))
    parser.add_argument("--toc", default=None, help="the staged _toc.yml the book was built from (default: _book/)")
    args = parser.parse_args(argv)
    reason = chromium_missing_reason()
    if reason:
        print(f"[browser] cannot run: {reason}")
        return 2
    problems = check_book(Path(args.html), Path(args.screenshots), pages=toc_pages(args.toc) if args.toc else None)
    for p in problems:
        print(f"[browser] {p}")
    print(f"[browser] {len(problems)} problem(s); screenshots in {args.screenshots}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
