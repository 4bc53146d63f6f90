"""A real browser (Debian's chromium, driven by selenium through chromedriver) walks a HYPE study.

HYPE-infinity at the paper's counts (10 practice, 100 qualification, 100 task images) from the consent
page to the completion code, then a few HYPE-time trials with the countdown, the timed exposure and the
masks; the database and the score are checked after. ``.ci/run`` installs chromium and chromium-driver.
Screenshots of every page go to a temporary folder, or to $HYPE_SCREENSHOTS (docs/hype/ was made so).
"""
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette")
webdriver = pytest.importorskip("selenium.webdriver")

from genmetrics import hype  # noqa: E402
from genmetrics.hype import db  # noqa: E402

from .hype_support import labels, make_study  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs chromium and chromedriver (apt-get install chromium chromium-driver; "
                                       ".ci/run does it)")


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1000",
                "--disable-gpu", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("HYPE_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# One round trip per trial: click the answer button in the page, then wait there (polling every 5 ms)
# until the page shows the next answerable trial or a final page. Returns [trial, phase, image src].
CLICK_AND_WAIT = """
const [choice, last, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
if (choice) document.getElementById(choice).click();
const body = document.body;
(function poll() {
  const ready = body.dataset.ready || "";
  if ((ready && ready !== last) || body.dataset.page === "done" || body.dataset.page === "problem") {
    done([ready, body.dataset.page === "trial" ? body.dataset.phase : body.dataset.page,
          document.getElementById("image").getAttribute("src")]);
  } else setTimeout(poll, 5);
})();
"""


def open_link(driver, url: str):
    """Load a rater's link and wait until its first page (consent) is on screen."""
    driver.get(url)
    driver.set_script_timeout(30)
    driver.execute_async_script("const done = arguments[0]; (function poll() { if (document.body.dataset.page "
                                "=== 'consent') done(); else setTimeout(poll, 5); })();")


def wait_ready(driver, last: str, choice: str = ""):
    driver.set_script_timeout(30)
    return driver.execute_async_script(CLICK_AND_WAIT, choice, last)


def answer_until(driver, truth, decide, stop, shots=None):
    """Answer trials with ``decide(page, kind, n)`` until ``stop(page, n)``; screenshot each page's first trial.

    The first trial of each page is answered with a WebDriver click (a real pointer event), the rest by a
    click() in the page, which runs the same handler in one round trip instead of four.
    """
    from selenium.webdriver.common.by import By
    seen, counts = set(), {}
    ready, page, src = wait_ready(driver, "")
    while not stop(page, counts.get(page, 0)):
        n = counts.get(page, 0)
        choice = decide(page, truth[src], n)
        counts[page] = n + 1
        if page not in seen:
            if shots is not None:
                driver.save_screenshot(str(shots / f"{page}.png"))
                if page == "task":  # and as a phone shows it
                    driver.set_window_size(390, 844)
                    driver.save_screenshot(str(shots / "task-phone.png"))
                    driver.set_window_size(900, 1000)
            seen.add(page)
            driver.find_element(By.ID, choice).click()
            ready, page, src = wait_ready(driver, ready)
        else:
            ready, page, src = wait_ready(driver, ready, choice)
    return counts


def test_a_browser_walks_a_whole_hype_infinity_study(browser, shots, tmp_path):
    from selenium.webdriver.common.by import By
    made = make_study(tmp_path, n=105)  # the paper's counts: 5 + 50 + 50 of each kind per rater
    study = made["study"]
    truth = labels(study)
    with hype.background_server(study) as base:
        link = hype.invite(study, 1, base_url=base)[0]
        open_link(browser, link["url"])
        assert browser.find_element(By.ID, "agree").is_displayed()
        assert "Half of the images are real" in browser.find_element(By.ID, "consent").text
        browser.save_screenshot(str(shots / "consent.png"))
        browser.find_element(By.ID, "agree").click()
        flip = {"real": "fake", "fake": "real"}
        # Practice and qualification right; in the task every fourth fake is called real (known score).
        fakes = {"n": 0}

        def decide(page, kind, n):
            if page == "task" and kind == "fake":
                fakes["n"] += 1
                return flip[kind] if fakes["n"] % 4 == 0 else kind
            return kind

        counts = answer_until(browser, truth, decide, lambda page, n: page == "done", shots)
        assert counts == {"tutorial": 10, "qualification": 100, "task": 100}
        assert browser.find_element(By.ID, "done").is_displayed()
        assert browser.find_element(By.ID, "code").text == link["completion_code"]
        browser.find_element(By.ID, "comment").send_keys("<b>nice</b> study")
        browser.find_element(By.ID, "send-comment").click()
        browser.execute_async_script("const done = arguments[0]; (function poll() { "
                                     "if (document.getElementById('comment-status').textContent) done(); "
                                     "else setTimeout(poll, 5); })();")
        browser.save_screenshot(str(shots / "done.png"))
    with db.opened(study) as con:
        assert con.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 210
        assert con.execute("SELECT COUNT(*) FROM trials WHERE rt_ms > 0").fetchone()[0] == 210
        assert con.execute("SELECT comment FROM raters").fetchone()[0] == "<b>nice</b> study"
    entry = hype.score(study)["models"]["good"]
    # 50 task fakes, every fourth called real: 12 errors of 100 images.
    assert (entry["score"], entry["fake_error"], entry["real_error"], entry["raters"]) == (12.0, 24.0, 0.0, 1)


def test_a_browser_runs_hype_time_trials(browser, shots, tmp_path):
    """Countdown, timed image and masks; the exposure measured in the page is stored beside the requested one."""
    # No qualification here (--qualification-n 0, for raters qualified before): the infinity test above covers it.
    made = make_study(tmp_path, method="time", n=226, tutorial_n=2, qualification_n=0)
    study = made["study"]
    truth = labels(study)
    with hype.background_server(study) as base:
        open_link(browser, hype.invite(study, 1, base_url=base)[0]["url"])
        from selenium.webdriver.common.by import By
        browser.find_element(By.ID, "agree").click()
        # Practice right; then alternate answers, so that the staircase moves both ways.
        decide = lambda page, kind, n: kind if page == "tutorial" else ("real" if n % 2 else "fake")  # noqa: E731
        answer_until(browser, truth, decide, lambda page, n: page == "task" and n == 3, None)
        browser.save_screenshot(str(shots / "time-answer.png"))
        browser.find_element(By.ID, "fake").click()
        browser.execute_async_script("const done = arguments[0]; (function poll() { "
                                     "if (!document.getElementById('countdown').hidden) done(); "
                                     "else setTimeout(poll, 2); })();")
        browser.save_screenshot(str(shots / "time-countdown.png"))  # the next trial's 3-2-1 and the feedback
        browser.execute_async_script("const done = arguments[0]; (function poll() { "
                                     "if (document.body.dataset.ready) done(); else setTimeout(poll, 5); })();")
    with db.opened(study) as con:
        rows = con.execute("SELECT t.requested_ms, t.shown_ms, t.correct FROM trials t JOIN assignments a "
                           "ON a.id = t.assignment_id WHERE a.phase = 'task' ORDER BY a.seq").fetchall()
    assert len(rows) == 4
    # The staircase: 500 ms first, then down 10 after a correct answer, up 30 after an error.
    expected = hype.staircase([bool(r["correct"]) for r in rows], hype.Protocol(method="time"))[:4]
    assert [r["requested_ms"] for r in rows] == expected
    for r in rows:
        # Frames are 16.7 ms apart and a step ends within half a frame of its length; a loaded CI machine
        # can drop frames, which lengthens the exposure (and is recorded): allow up to 100 ms more.
        assert r["requested_ms"] - 9 <= r["shown_ms"] <= r["requested_ms"] + 100

