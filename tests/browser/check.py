"""Real-browser checks of Signpost's web client.

Starts the signpost binary on a free port with a fresh data directory (so the demo directory is
seeded) and a professional account, then drives the installed Chromium through Playwright:

* every page at 320 and 1280 pixels wide, with JavaScript on and off: the page answers as it
  should, axe-core finds no WCAG 2.0, 2.1 or 2.2 A or AA violation, and (JavaScript on) a
  screenshot is saved;
* a keyboard-only journey (Tab, Shift+Tab, Enter and Space; no clicks), with JavaScript on (at
  320 pixels) and off (at 1280): search, add two results to the shortlist, open it, open its
  print view, with focus visible at every step;
* what the page script adds (suggestions, the copy and print buttons, a quick "exit this page"),
  and that without it the same pages still work.

Run it through tests/browser/run, which finds Chromium, prepares Python and the binary.
Exits non-zero on any failure, after printing every problem found.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

HERE = Path(__file__).resolve().parent
AXE_SOURCE = HERE / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = [320, 1280]
HEIGHT = 900
STARTED = time.monotonic()

# Demo listings (data/demo-directory.json).
BABY_BOND = "806c6330-6a12-49e8-aac6-bea6d5e6d845"
DOMESTIC_ABUSE = "27edc35c-1151-4563-a68e-0d101072a980"
SHORTLIST = f"{BABY_BOND},{DOMESTIC_ABUSE}"

PROFESSIONAL_EMAIL = "health.visitor@example.org"
PROFESSIONAL_PASSWORD = "a long password for the browser checks"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Report:
    """What the checks found."""

    failures: list[str] = field(default_factory=list)
    axe_rows: list[tuple[str, int, str, int]] = field(default_factory=list)
    journeys: list[tuple[str, str]] = field(default_factory=list)
    screenshots: int = 0

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print(f"FAIL {message}", flush=True)


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """The signpost binary on a free port with a fresh data directory; stopped on exit."""

    def __init__(self, binary: Path, log: Path) -> None:
        self.binary = binary
        self.log_path = log
        self.data_dir = Path(tempfile.mkdtemp(prefix="signpost-browser-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "SIGNPOST_DATA_DIR": str(self.data_dir),
            "SIGNPOST_BIND": f"127.0.0.1:{self.port}",
            "SIGNPOST_SEED_DEMO": "true",
            # Every page is loaded many times from one address.
            "SIGNPOST_RATE_LIMIT_ANONYMOUS": "0",
            "SIGNPOST_RATE_LIMIT_TOKEN": "0",
        }

    def __enter__(self) -> "Server":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        # The account is made before the server starts, against the same data directory.
        made = subprocess.run(
            [
                str(self.binary),
                "user",
                "add",
                "--email",
                PROFESSIONAL_EMAIL,
                "--role",
                "professional",
                "--password-stdin",
            ],
            input=PROFESSIONAL_PASSWORD.encode(),
            env=self.env,
            capture_output=True,
        )
        if made.returncode != 0:
            sys.stderr.buffer.write(made.stdout + made.stderr)
            raise RuntimeError(f"signpost user add failed with status {made.returncode}")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(self.binary)], env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"signpost exited with status {self.process.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"signpost did not answer at {self.base} within 120 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None) is not None:
            self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# --- the pages ----------------------------------------------------------------------------


@dataclass
class PageCheck:
    """A page to load, what must be on it, and its expected status."""

    name: str
    path: str
    expect: list[str]
    status: int = 200
    signed_in: bool = False
    absent: list[str] = field(default_factory=list)
    check: Callable[[Page], str | None] | None = None


def has_error_summary(page: Page) -> str | None:
    summary = page.locator(".nhsuk-error-summary")
    if summary.count() != 1:
        return "no error summary"
    link = summary.locator("a[href='#postcode']")
    if link.count() != 1:
        return "the error summary does not link to the postcode field"
    return None


def two_entries(page: Page) -> str | None:
    entries = page.locator("main ol > li, main section.sp-print-entry")
    return None if entries.count() == 2 else f"{entries.count()} shortlist entries, not 2"


def has_results(page: Page) -> str | None:
    cards = page.locator("#results ol > li")
    return None if cards.count() > 0 else "no result cards"


PAGES = [
    PageCheck("search-empty", "/", ["Find services for a family", "Describe the family's need"]),
    PageCheck(
        "search-results",
        "/?q=low+mood&postcode=M16+0RA",
        ["services found", "Add to shortlist"],
        check=has_results,
    ),
    PageCheck(
        "search-filters-empty",
        "/?q=low+mood&postcode=M16+0RA&level=SPECIALIST&mode=ONLINE&audience=FATHERS&self=yes",
        ["0 services found"],
    ),
    PageCheck(
        "search-error",
        "/?q=low+mood&postcode=NOT+A+POSTCODE",
        ["There is a problem"],
        status=400,
        check=has_error_summary,
    ),
    PageCheck(
        "service",
        f"/services/{BABY_BOND}",
        ["Baby Bond volunteer home visiting", "Report a problem with this listing", "sign in"],
        absent=["For professionals only"],
    ),
    PageCheck(
        "service-domestic-abuse",
        f"/services/{DOMESTIC_ABUSE}",
        ["Exit this page", "domestic abuse"],
    ),
    PageCheck(
        "shortlist", f"/shortlist?s={SHORTLIST}", ["Shortlist", "Print view"], check=two_entries
    ),
    PageCheck(
        "shortlist-print",
        f"/shortlist/print?s={SHORTLIST}",
        ["Services for your family", "How to get in touch"],
        check=two_entries,
    ),
    PageCheck("events", "/events?postcode=M16+0RA&weeks=8", ["Events"]),
    PageCheck("sign-in", "/sign-in", ["Sign in for professionals", "Password"]),
    PageCheck(
        "service-professional",
        f"/services/{BABY_BOND}",
        ["Signed in as", "For professionals only"],
        signed_in=True,
    ),
]


def run_axe(page: Page) -> list[dict]:
    """axe-core's violations of the WCAG A and AA rules on the loaded page.

    axe-core comes in as the context's init script (see `with_axe`)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        raise RuntimeError(f"axe-core is not loaded in {page.url}")
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: { type: 'tag', values: tags },
                resultTypes: ['violations'],
            });
            return result.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => ({
                    target: n.target.join(' '),
                    summary: n.failureSummary,
                })),
                count: v.nodes.length,
            }));
        }""",
        AXE_TAGS,
    )


def sign_in(context: BrowserContext, base: str) -> None:
    """Signs the context in through the sign-in form."""
    page = context.new_page()
    page.goto(f"{base}/sign-in")
    page.fill("#email", PROFESSIONAL_EMAIL)
    page.fill("#password", PROFESSIONAL_PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").press("Enter")
    if "Signed in as" not in page.content():
        raise RuntimeError("signing in did not work")
    page.close()


def with_axe(context: BrowserContext) -> None:
    """Loads axe-core into every document of the context before the page's own scripts. It goes
    through the DevTools protocol, which the page's Content-Security-Policy does not govern, so
    the page keeps its policy (and a script the policy refuses is reported)."""
    context.add_init_script(path=str(AXE_SOURCE))


def block_scripts(context: BrowserContext) -> None:
    """No script of the page's loads: the page as a browser without JavaScript gets it."""
    context.route(re.compile(r".*\.m?js(\?.*)?$"), lambda route: route.abort())


def check_pages(
    browser: Browser,
    base: str,
    js: bool,
    width: int,
    shots: Path,
    report: Report,
) -> None:
    """Every page at one width. With JavaScript off, the page is loaded with JavaScript
    disabled; axe-core, which needs timers, then runs on the same page loaded where only the
    page's own scripts are blocked, which is the same document."""
    mode = "js-on" if js else "js-off"

    def contexts(script: bool, width: int) -> tuple[BrowserContext, BrowserContext]:
        made = []
        for _ in range(2):
            context = browser.new_context(
                java_script_enabled=script, viewport={"width": width, "height": HEIGHT}
            )
            context.set_default_timeout(30_000)
            if script:
                with_axe(context)
            made.append(context)
        sign_in(made[1], base)
        return made[0], made[1]

    anonymous, professional = contexts(js, width)
    if js:
        axe_anonymous, axe_professional = anonymous, professional
    else:
        axe_anonymous, axe_professional = contexts(True, width)
        block_scripts(axe_anonymous)
        block_scripts(axe_professional)
    try:
        for check in PAGES:
            context = professional if check.signed_in else anonymous
            page = context.new_page()
            problems = watch(page)
            label = f"{check.name} at {width}px ({mode})"
            failed_before = len(report.failures)
            response = page.goto(base + check.path, wait_until="load")
            if response is None or response.status != check.status:
                status = response.status if response else "none"
                report.fail(f"{label}: status {status}, expected {check.status}")
            text = page.locator("body").inner_text()
            for expected in check.expect:
                if expected.lower() not in text.lower():
                    report.fail(f"{label}: {expected!r} is not on the page")
            for unexpected in check.absent:
                if unexpected.lower() in text.lower():
                    report.fail(f"{label}: {unexpected!r} should not be on the page")
            if check.check is not None and (problem := check.check(page)):
                report.fail(f"{label}: {problem}")
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                report.fail(f"{label}: the page scrolls sideways by {overflow}px")
            if js:
                violations = run_axe(page)
            else:
                axe_page = (axe_professional if check.signed_in else axe_anonymous).new_page()
                axe_page.goto(base + check.path, wait_until="load")
                violations = run_axe(axe_page)
                axe_page.close()
            nodes = sum(v["count"] for v in violations)
            report.axe_rows.append((check.name, width, mode, nodes))
            for violation in violations:
                report.fail(
                    f"{label}: axe {violation['id']} ({violation['impact']}): "
                    f"{violation['help']} – {violation['count']} element(s)"
                )
                for node in violation["nodes"]:
                    print(f"       {node['target']}: {node['summary']}", flush=True)
            for problem in problems:
                report.fail(f"{label}: {problem}")
            if js:
                page.screenshot(path=str(shots / f"{check.name}-{width}.png"), full_page=True)
                report.screenshots += 1
                if check.name == "search-results" and width == 1280:
                    # The first screen only: the README's picture (docs/search-page.png).
                    page.screenshot(path=str(shots / "search-page.png"))
            mine = [f for f in report.failures[failed_before:] if f.startswith(label)]
            verdict = "FAIL" if mine else "ok  "
            elapsed = time.monotonic() - STARTED
            print(f"{verdict} {label}: {nodes} axe violation(s) [{elapsed:.0f} s]", flush=True)
            page.close()
    finally:
        for context in {anonymous, professional, axe_anonymous, axe_professional}:
            context.close()


def watch(page: Page) -> list[str]:
    """Collects script errors, console errors (such as Content-Security-Policy refusals) and
    requests to other origins while the page is open."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    # A response's status is checked where it is expected, so the console's note of it is not.
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} for {response.url}")
            if response.status >= 400 and response.request.resource_type != "document"
            else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            problems.append(f"request to another origin: {request.url}")
            if not request.url.startswith(("http://127.0.0.1", "data:", "about:"))
            else None
        ),
    )
    return problems


# --- the keyboard journey -----------------------------------------------------------------

FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        tag: el.tagName.toLowerCase(),
        id: el.id,
        text: (el.innerText || el.value || '').trim().replace(/\\s+/g, ' '),
        href: el.getAttribute('href'),
        type: el.getAttribute('type'),
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
        shadow: style.boxShadow !== 'none',
        background: style.backgroundColor,
        visible: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
            && box.top < window.innerHeight + window.scrollY,
    };
}"""


class Journey:
    """Moves through a page with the keyboard only."""

    def __init__(self, page: Page, label: str) -> None:
        self.page = page
        self.label = label
        self.presses = 0

    def focused(self) -> dict | None:
        return self.page.evaluate(FOCUSED)

    def press(self, key: str) -> dict | None:
        self.page.keyboard.press(key)
        self.presses += 1
        return self.focused()

    def tab_to(self, wanted: Callable[[dict], bool], what: str, limit: int = 250) -> dict:
        """Presses Tab until the focused element is `wanted`, and asserts its focus shows."""
        for _ in range(limit):
            now = self.press("Tab")
            if now is not None and wanted(now):
                self.assert_focus_visible(now, what)
                return now
        raise AssertionError(f"{self.label}: Tab never reached {what}")

    def assert_focus_visible(self, element: dict, what: str) -> None:
        if not element["visible"]:
            raise AssertionError(f"{self.label}: {what} has focus but is not on screen")
        if not (
            element["outline"] or element["shadow"] or element["background"] == "rgb(255, 235, 59)"
        ):
            raise AssertionError(f"{self.label}: {what} has focus that does not show")

    def activate(self, key: str, what: str, url: str) -> None:
        """Presses Enter or Space on the focused element and waits for the page `url` matches."""
        with self.page.expect_navigation(url=re.compile(url)):
            self.page.keyboard.press(key)
            self.presses += 1
        self.page.wait_for_load_state("load")
        print(f"     {self.label}: {what}", flush=True)


def keyboard_journey(browser: Browser, base: str, js: bool, width: int) -> str:
    """The journey from the search page to the shortlist's print view. Returns a summary."""
    mode = "js-on" if js else "js-off"
    label = f"keyboard journey at {width}px ({mode})"
    context = browser.new_context(
        java_script_enabled=js, viewport={"width": width, "height": HEIGHT}
    )
    try:
        page = context.new_page()
        problems = watch(page)
        page.goto(f"{base}/")
        walk = Journey(page, label)

        # The first Tab shows the skip link; Tab then Shift+Tab come back to it.
        first = walk.press("Tab")
        if first is None or first["text"] != "Skip to main content":
            raise AssertionError(f"{label}: the first Tab did not reach the skip link: {first}")
        walk.assert_focus_visible(first, "the skip link")
        walk.press("Tab")
        back = walk.press("Shift+Tab")
        if back is None or back["text"] != "Skip to main content":
            raise AssertionError(f"{label}: Shift+Tab did not return to the skip link: {back}")
        # Enter on the skip link moves on to the main content: the next Tab is the need field.
        page.keyboard.press("Enter")
        walk.presses += 1
        need = walk.press("Tab")
        if need is None or need["id"] != "q":
            raise AssertionError(
                f"{label}: after the skip link, Tab reached {need}, not the need field"
            )
        walk.assert_focus_visible(need, "the need field")
        page.keyboard.type("low mood")
        walk.tab_to(lambda e: e["id"] == "postcode", "the postcode field")
        page.keyboard.type("M16 0RA")
        walk.tab_to(lambda e: e["tag"] == "button" and e["text"] == "Search", "the Search button")
        walk.activate("Space", "searched with Space on the Search button", r"q=low\+mood")
        if "services found" not in page.locator("#results").inner_text():
            raise AssertionError(f"{label}: the search showed no results")

        added: list[str] = []
        for n in (1, 2):
            link = walk.tab_to(
                lambda e: e["tag"] == "a" and e["text"].startswith("Add to shortlist"),
                f"an 'Add to shortlist' link ({n})",
            )
            walk.activate("Enter", f"added {link['text'].split(': ', 1)[-1]!r}", r"[?&]s=")
            added.append(link["text"])
            on_list = page.locator("strong:has-text('On the shortlist')").count()
            if on_list != n:
                raise AssertionError(
                    f"{label}: {on_list} results say they are on the shortlist, not {n}"
                )

        walk.tab_to(
            lambda e: e["tag"] == "a" and e["text"] == "View, print or share the shortlist",
            "the link to the shortlist",
        )
        walk.activate("Enter", "opened the shortlist", r"/shortlist\?s=")
        if two_entries(page) is not None:
            raise AssertionError(f"{label}: the shortlist does not hold the two services")
        walk.tab_to(lambda e: e["tag"] == "a" and e["text"] == "Print view", "the print view link")
        walk.activate("Enter", "opened the print view", r"/shortlist/print\?s=")
        if two_entries(page) is not None:
            raise AssertionError(f"{label}: the print view does not hold the two services")
        print_button = page.locator("button[data-print]")
        if js and not print_button.is_visible():
            raise AssertionError(f"{label}: the Print button does not show with JavaScript on")
        if not js and print_button.is_visible():
            raise AssertionError(f"{label}: the Print button shows though nothing would run it")
        if problems:
            raise AssertionError(f"{label}: " + "; ".join(problems))
        return f"passed in {walk.presses} key presses"
    finally:
        context.close()


# --- what the script adds --------------------------------------------------------------


def enhancements(browser: Browser, base: str, js: bool) -> str:
    """What the app's script adds, and that each page still works without it: suggestions for
    the need field, the copy and print buttons, and "exit this page" (with the keyboard)."""
    mode = "js-on" if js else "js-off"
    label = f"enhancements ({mode})"
    context = browser.new_context(
        java_script_enabled=js, viewport={"width": 1280, "height": HEIGHT}
    )
    context.set_default_timeout(30_000)
    # The exit link's destination is another origin: answered here, so nothing leaves the machine.
    context.route(
        "https://www.bbc.co.uk/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>Weather</title>"
        ),
    )
    try:
        page = context.new_page()
        page.goto(f"{base}/")
        page.focus("#q")
        page.keyboard.type("sleep")
        options = page.locator("#need-suggestions option")
        if js:
            try:
                options.first.wait_for(state="attached", timeout=5_000)
            except Exception as error:
                raise AssertionError(f"{label}: no suggestions for 'sleep'") from error
            suggestions = options.count()
        elif page.locator("#need-suggestions").count() != 0:
            raise AssertionError(f"{label}: a suggestion list appeared without JavaScript")
        else:
            suggestions = 0

        page.goto(f"{base}/shortlist?s={SHORTLIST}")
        if page.locator("button[data-copy]").is_visible() != js:
            raise AssertionError(
                f"{label}: the copy button shows {'only without' if js else 'without'} JavaScript"
            )

        # Exit this page: open the listing from the search page, then leave with the keyboard.
        page.goto(f"{base}/")
        page.goto(f"{base}/services/{DOMESTIC_ABUSE}")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent.trim()")
        if focused != "Exit this page":
            raise AssertionError(
                f"{label}: the second Tab reached {focused!r}, not 'Exit this page'"
            )
        with page.expect_navigation(url="https://www.bbc.co.uk/**"):
            page.keyboard.press("Enter")
        # With the script, the listing is replaced in the history: Back skips it.
        page.go_back()
        back_at = page.url
        left_listing = DOMESTIC_ABUSE not in back_at
        if js and not left_listing:
            raise AssertionError(f"{label}: after exiting, Back returns to the listing")
        if not js and left_listing:
            raise AssertionError(
                f"{label}: without JavaScript the exit link should be a plain link"
            )
        return (
            f"{suggestions} suggestion(s) for 'sleep'; copy button "
            f"{'shown' if js else 'hidden'}; exit this page "
            f"{'replaced the listing in the history' if js else 'left as a plain link'}"
        )
    finally:
        context.close()


# --- main ---------------------------------------------------------------------------------


def record(report: Report, name: str, run: Callable[[], str]) -> None:
    """Runs a journey and notes its outcome."""
    try:
        outcome = run()
    except AssertionError as failure:
        report.journeys.append((name, "FAILED"))
        report.fail(str(failure))
        return
    report.journeys.append((name, outcome))
    print(f"ok   {name}: {outcome}", flush=True)


def stop_on_signal(signum: int, _frame: object) -> None:
    """Turns SIGTERM and SIGHUP into an exit that runs the cleanup (the server is stopped)."""
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signpost", required=True, type=Path, help="the signpost binary")
    parser.add_argument("--chromium", required=True, help="the Chromium executable")
    parser.add_argument("--out", required=True, type=Path, help="where screenshots go")
    parser.add_argument(
        "--workers", type=int, default=2, help="browsers at once (each runs part of the checks)"
    )
    args = parser.parse_args()
    workers = max(1, args.workers)

    started = time.monotonic()
    report = Report()
    shots = args.out
    if shots.exists():
        for old in shots.glob("*.png"):
            old.unlink()
    shots.mkdir(parents=True, exist_ok=True)
    axe_version = (AXE_SOURCE.parent / "VERSION").read_text().strip()

    # Independent pieces of work, shared among a few browsers (each its own thread, as
    # Playwright's synchronous API keeps to the thread that started it).
    tasks: queue.Queue[tuple[str, Callable[[Browser, str], None]]] = queue.Queue()
    for js in (True, False):
        for width in WIDTHS:
            tasks.put(
                (
                    f"pages at {width}px ({'js-on' if js else 'js-off'})",
                    lambda browser, base, js=js, width=width: check_pages(
                        browser, base, js, width, shots, report
                    ),
                )
            )
    # The journey with JavaScript on a narrow screen, and off on a wide one.
    for js, width in ((True, 320), (False, 1280)):
        name = f"keyboard journey at {width}px ({'js-on' if js else 'js-off'})"
        tasks.put(
            (
                name,
                lambda browser, base, js=js, width=width, name=name: record(
                    report, name, lambda: keyboard_journey(browser, base, js, width)
                ),
            )
        )
    for js in (True, False):
        name = f"enhancements ({'js-on' if js else 'js-off'})"
        tasks.put(
            (
                name,
                lambda browser, base, js=js, name=name: record(
                    report, name, lambda: enhancements(browser, base, js)
                ),
            )
        )

    with Server(args.signpost, shots / "signpost.log") as server:
        print(f"signpost answering at {server.base} (data in {server.data_dir})", flush=True)
        print(f"axe-core {axe_version}, {workers} browser(s) at once", flush=True)

        def worker() -> None:
            with sync_playwright() as playwright:
                # Playwright gives every launch a new, empty profile (--user-data-dir).
                browser = playwright.chromium.launch(
                    executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
                )
                print(f"Chromium {browser.version} started", flush=True)
                try:
                    while True:
                        try:
                            name, task = tasks.get_nowait()
                        except queue.Empty:
                            return
                        try:
                            task(browser, server.base)
                        except Exception as error:  # noqa: BLE001 - reported, then the rest runs
                            report.fail(f"{name}: {type(error).__name__}: {error}")
                finally:
                    browser.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    order = {check.name: n for n, check in enumerate(PAGES)}
    report.axe_rows.sort(key=lambda row: (row[2] != "js-on", row[1], order[row[0]]))
    print("\naxe-core violations (elements) per page, width and JavaScript:")
    for name, width, mode, nodes in report.axe_rows:
        print(f"  {name:<24} {width:>5}px  {mode:<6} {nodes}")
    print("keyboard journeys and the script's enhancements:")
    for name, outcome in report.journeys:
        print(f"  {name}: {outcome}")
    print(f"{report.screenshots} screenshots in {shots}")
    print(f"took {time.monotonic() - started:.0f} s")
    if report.failures:
        print(f"\n{len(report.failures)} problem(s):", file=sys.stderr)
        for failure in report.failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print("browser checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
