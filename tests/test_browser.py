"""The built book as a reader meets it: headless Chromium against ``_build/html`` served on loopback.

Uses the session's one book build (the ``built_book`` fixture in tests/conftest.py) and the checker in
``ci/browser_check.py``, which walks every page of the table of contents by its "next" link. See that
module for the list of checks. Screenshots of every page land in ``_build/screenshots/`` (a CI
artifact). The tests skip, saying why, only where Debian's chromium/chromium-driver are not installed
(``bash ci/setup.sh`` installs them with apt-get where it can).
"""

import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
sys.path.insert(0, str(ROOT / "ci"))
import browser_check  # noqa: E402

needs_chromium = pytest.mark.skipif(browser_check.chromium_missing_reason() is not None,
                                    reason=f"browser test skipped: {browser_check.chromium_missing_reason()}")


def _claim_ids(built_book, published: bool | None = None) -> list[str]:
    """The claims with verdicts in this build; ``published``: only those computed from published numbers
    (True) or only those on models trained here (False)."""
    return [v["claim"]["id"] for r in built_book["results"] for v in r["verdicts"]
            if published is None or ((v.get("claim") or {}).get("evidence") == "published") == published]


@pytest.mark.slow
@needs_chromium
def test_every_page_in_a_real_browser(built_book):
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    problems = browser_check.check_book(HTML, SCREENSHOTS, claim_ids=_claim_ids(built_book),
                                        n_chapters=sum(bool(r["verdicts"]) for r in built_book["results"]),
                                        published_ids=_claim_ids(built_book, published=True))
    assert not problems, "the book has problems in the browser:\n" + "\n".join(problems)
    shots = {p.name for p in SCREENSHOTS.glob("*.png")}
    for page in browser_check.toc_pages():
        assert page.replace("/", "__").removesuffix(".html") + ".png" in shots


@pytest.mark.slow
@needs_chromium
def test_the_checker_catches_a_missing_figure_and_missing_math(built_book, tmp_path):
    """Show the browser test can fail: break a copy of the site, check that the checker notices."""
    site = tmp_path / "html"
    shutil.copytree(HTML, site)
    page = next(p for p in browser_check.toc_pages() if p.startswith("chapters/"))
    text = (site / page).read_text()
    figures = re.findall(r'<img[^>]+src="([^"]+\.png)"', text)
    assert figures, f"{page} has no figure to remove"
    missing = figures[0]
    (site / "chapters" / missing).resolve().unlink()
    shutil.rmtree(site / "mathjax")  # and the vendored MathJax: math must then fail to render (offline)

    problems = browser_check.check_book(site, screenshots=None, pages=[page])
    assert any("figure did not load" in p and Path(missing).name in p for p in problems), problems
    assert any("MathJax rendered none" in p for p in problems), problems
    assert any("console error" in p for p in problems), problems

    # ... and the intact site passes the same page.
    assert browser_check.check_book(HTML, screenshots=None, pages=[page]) == []


@pytest.mark.slow
def test_pages_are_clean_without_a_browser(built_book):
    """Static checks that need no browser: no Python warnings or tracebacks in any chapter's outputs,
    progress bars printed once, the parameters cell papermill injected is not shown as code, MathJax
    comes from the local copy, and every chapter has its reader furniture."""
    from bs4 import BeautifulSoup

    chapters = [p for p in browser_check.toc_pages() if p.startswith("chapters/")]
    assert chapters
    for name in chapters:
        page = HTML / name
        soup = BeautifulSoup(page.read_text(), "html.parser")
        outputs = "\n".join(o.get_text() for o in soup.select(".cell_output"))
        assert not browser_check.PYTHON_WARNING.search(outputs), f"{page.name}: a warning leaked into the page"
        assert "Traceback" not in outputs
        bars = [line for line in re.split(r"[\r\n]+", outputs) if browser_check.PROGRESS_LINE.match(line.strip())]
        descs = [browser_check.PROGRESS_LINE.match(b.strip()).group("desc") for b in bars]
        assert len(descs) == len(set(descs)), f"{page.name}: a progress bar is printed more than once: {bars}"
        assert not soup.select(".tag_injected-parameters"), f"{page.name}: papermill's injected cell is shown"
        assert soup.select(".admonition.run-box"), f"{page.name}: no run-profile box"
        assert soup.select(".admonition.provenance"), f"{page.name}: no provenance footer"
        assert soup.select(".admonition.learning-objectives"), f"{page.name}: no learning objectives box"
        scripts = [s.get("src", "") for s in soup.select("script")]
        local_mathjax = [s for s in scripts if re.search(r"/mathjax/es5/tex-mml-chtml\.js(\?|$)", s)]
        assert local_mathjax and all("://" not in s for s in local_mathjax), f"{page.name}: MathJax not local"
        assert not any("mathjax" in s.lower() and "://" in s for s in scripts), f"{page.name}: MathJax from a CDN"
    assert (HTML / "mathjax" / "es5" / "tex-mml-chtml.js").exists(), "the vendored MathJax is not in the build"


# ---- the reader checks on small synthetic pages (no book build needed) -----------------------------------------

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000001649444154789c63fc"
                    "cfc0c0c0c0c0c4c0c0c0c0c000000d1d01036ac29be90000000049454e44ae426082")  # 2×2 red pixels
BADGE = '<span class="sd-badge" style="background:#2e7d32">✔ reproduced</span>'
GOOD = f"""<html><body><article class="bd-article">
<div class="claim-card"><p><a href="#k1">K1</a> {BADGE} ratio = 1.4, 95 % interval [1.2, 1.6]: the whole interval satisfies ratio ≥ 1</p>
<ul><li>Criterion: ratio ≥ 1, written out in full</li></ul></div>
<div class="cell"><div class="cell_output"><img src="fig.png"></div></div>
<p>The takeaway: the loss falls with size.</p>
<figure><img src="fig.png"><figcaption>A captioned figure.</figcaption></figure>
<table><tr><td>a criterion that wraps because nothing stops it from wrapping</td></tr></table>
<span id="k1"></span></article></body></html>"""
AUDIT = ("<li>Audit (200 simulated runs of this design per world): paper world reproduced 90 % (power); rival "
         "<em>null</em>: reproduced 1 % (false-positive rate), not reproduced 80 %.</li>")
PUBLISHED = (f'<section><span id="report-card-published"></span><h2>Claims computed from published numbers</h2>'
             f'<div class="claim-card"><p><a href="#c4">C4</a> {BADGE} fit of the published runs</p></div>'
             f'<span id="c4"></span></section>')
BAD = f"""<html><body><article class="bd-article">
<p>{BADGE}</p>
<div class="cell"><div class="cell_output"><img src="fig.png"></div></div>
<h2>No takeaway</h2>
<table style="table-layout: fixed; width: 120px"><tr>
 <td style="white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 100px">
 fraction kept beats random by more than two standard errors at every size</td></tr></table>
<div class="cell_output"><table><tr><td>…by &gt; 2 SE at...</td></tr></table></div>
<pre style="white-space: pre; overflow-x: auto; width: 200px">run(spec, lr=1e-3, steps=650, batch_size=32, warmup=32, schedule="cosine")</pre>
</article></body></html>"""


FAR = """<html><body><article class="bd-article"><p>Claim K1 says the loss falls as a power law.</p>
<div style="height: 3000px"></div>
<div class="cell"><div class="cell_output"><img src="fig.png" style="width: 200px"></div></div>
<p>The takeaway: the loss falls with size.</p></article></body></html>"""


@pytest.fixture(scope="module")
def synthetic_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "fig.png").write_bytes(PNG)
    (site / "good.html").write_text(GOOD)
    (site / "bad.html").write_text(BAD)
    (site / "card_good.html").write_text(
        GOOD.replace('<img src="fig.png">', '<img src="00.forest.png">', 1).replace("<ul><li>Criterion", "<ul>" + AUDIT + "<li>Criterion", 1)
        .replace('<span id="k1"></span>', '<span id="k1"></span>' + PUBLISHED, 1))
    (site / "00.forest.png").write_bytes(PNG)
    (site / "far.html").write_text(FAR)
    (site / "far_illustration.html").write_text(FAR.replace('<div class="cell">', '<div class="cell tag_illustration">'))
    (site / "card_bad.html").write_text(GOOD.replace(BADGE, "", 1).replace('href="#k1"', ""))
    with browser_check.serve(site) as base, browser_check.chromium() as driver:
        def problems(page, check):
            driver.get(base + page)
            browser_check._wait(driver, "document.readyState === 'complete'")
            return check(driver, page)
        problems.site = site
        yield problems


@needs_chromium
@pytest.mark.parametrize("check", ["check_truncation", "check_badge_reasons", "check_figure_captions",
                                   "check_figures_near_claims"])
def test_reader_check_passes_a_good_page_and_fails_a_bad_one(synthetic_site, check):
    fn = getattr(browser_check, check)
    assert synthetic_site("good.html", fn) == []
    assert synthetic_site("bad.html", fn), f"{check} found nothing wrong with the bad page"


@needs_chromium
def test_a_figure_three_screens_below_its_claim_is_reported_unless_it_is_an_illustration(synthetic_site):
    far = synthetic_site("far.html", browser_check.check_figures_near_claims)
    assert len(far) == 1 and "px from the nearest prose naming a claim" in far[0]
    assert synthetic_site("far_illustration.html", browser_check.check_figures_near_claims) == []


@needs_chromium
def test_truncation_check_names_both_ways_of_cutting_text(synthetic_site):
    problems = " ".join(synthetic_site("bad.html", browser_check.check_truncation))
    assert "text-overflow: ellipsis" in problems and "pandas truncation" in problems
    assert "a code line runs past the right edge" in problems


@needs_chromium
def test_report_card_check_wants_a_badge_a_link_and_a_forest_plot(synthetic_site):
    def check(page, claim_ids=("K1", "C4"), published_ids=("C4",)):
        return synthetic_site(page, lambda d, p: browser_check.check_report_card(
            d, p, synthetic_site.site, list(claim_ids), 1, list(published_ids)))
    assert check("card_good.html") == []
    bad = " ".join(check("card_bad.html", claim_ids=("K1", "K2")))
    for needle in ("0 verdict badges", "does not link", "no forest plot", "!= claims with verdicts",
                   "K1 shows no audit line", "published-numbers section"):
        assert needle in bad, (needle, bad)
    # a published-number claim that the card shows among the trained ones (or the reverse) is caught
    assert "published-numbers section" in " ".join(check("card_good.html", published_ids=()))


def _wide_png(path: Path, width_px: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width_px / 100, 1.0), dpi=100)
    fig.savefig(path, dpi=100)
    plt.close(fig)


@needs_chromium
def test_figure_scale_and_claim_width_checks_pass_a_good_page_and_fail_a_bad_one(synthetic_site):
    site = synthetic_site.site
    _wide_png(site / "wide.png", 1400)
    _wide_png(site / "fits.png", 600)
    card = "<div class='claims-cards'><div class='claims-card'><p>K1 a claim</p></div></div>"
    (site / "scale_good.html").write_text(f"<html><body><article style='width: 700px'>{card}"
                                          "<img src='fits.png'></article></body></html>")
    (site / "scale_bad.html").write_text(
        "<html><body><article style='width: 700px'><div class='claims-cards'><div class='claims-card' "
        "style='width: 1200px'><p>K1 a claim</p></div></div><img src='wide.png' style='width: 676px'>"
        "</article></body></html>")
    assert synthetic_site("scale_good.html", browser_check.check_figure_scale) == []
    assert synthetic_site("scale_good.html", browser_check.check_claims_width) == []
    bad = synthetic_site("scale_bad.html", browser_check.check_figure_scale)
    assert len(bad) == 1 and "1/2.07 of its width" in bad[0], bad
    assert synthetic_site("scale_bad.html", browser_check.check_claims_width)
