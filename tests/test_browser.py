"""The web application in a real browser: Playwright driving Debian's chromium.

An investigator signs in, triages alerts from the queue (HTMX, no reload), escalates one to a
case, works it to review; a second investigator is refused the case (need-to-know); the
reviewer, who is not the owner, signs it off. The DPO answers a subject access request, and
the ledger page shows the witness that cosigned the checkpoint. Screenshots of the main pages
are written to ``docs/screenshots/`` for the documentation.

Chromium must be installed (``scripts/ci_browser.sh`` does it: ``apt-get install -y
chromium``); without it this test fails, saying so. Never ``playwright install``.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from custodes.ledger import generate_signer
from custodes.store import issue_checkpoint
from custodes.store.cosignatures import keep_cosignatures
from custodes.store.store import open_store
from custodes.witness import Witness, format_add_checkpoint
from tests.web_fixtures import PASSWORD, Site, build_site

# One worker runs this module: its fixtures build one site for all its tests.
pytestmark = pytest.mark.xdist_group("browser")

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def site(detected_force: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_site(detected_force, tmp_path_factory.mktemp("browser"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def base_url(site: Site) -> Iterator[str]:
    """The application served by uvicorn in a thread, on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`, "
            "or run scripts/ci_browser.sh); never `playwright install`",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def signed_in(browser: Browser, base_url: str, name: str) -> Page:
    page = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 860}
    ).new_page()
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    return page


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def triage(page: Page, alert_id: str, decision: str, **fields: str) -> None:
    page.locator(f'input[name="alert_ids"][value="{alert_id}"]').check()
    page.get_by_label("Decision").select_option(decision)
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Apply").click()


def test_a_case_from_the_queue_to_sign_off_in_the_browser(
    site: Site, base_url: str, browser: Browser
) -> None:
    login = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 720}
    ).new_page()
    login.goto("/login")
    shoot(login, "login")

    ann = signed_in(browser, base_url, "ann")
    shoot(ann, "dashboard")
    ann.get_by_role("link", name="Alerts").first.click()
    expect(ann.get_by_role("heading", name="Alert queue")).to_be_visible()
    shoot(ann, "alerts")
    rows = ann.locator('input[name="alert_ids"]')
    ids = [rows.nth(i).get_attribute("value") for i in range(rows.count())]
    assert len(ids) >= 3 and all(ids)
    assert "EMP-" in ann.content(), "the investigator sees pseudonyms"

    # Triage without a reload: the queue is swapped in place, with a message.
    url_before = ann.url
    triage(ann, str(ids[-1]), "dismiss", Reason="a training account")
    expect(ann.locator("#flash")).to_contain_text("1 alert dismissed.")
    assert ann.url == url_before
    expect(ann.locator(f'input[name="alert_ids"][value="{ids[-1]}"]')).to_have_count(0)

    # The evidence of an alert about a subject (its "why not?" loaded on demand), then
    # escalate it to a case.
    about_subject = ann.locator("tbody tr", has=ann.locator(".pseudonym", has_text="SUBJ-"))
    chosen = str(about_subject.first.locator('input[name="alert_ids"]').get_attribute("value"))
    ann.goto(f"/alerts/{chosen}")
    expect(
        ann.get_by_role("heading", name="The events and their explanation attempts")
    ).to_be_visible()
    ann.get_by_role("link", name="Why not?").first.click()
    expect(ann.locator(".why").first).to_contain_text("no explanation holds", timeout=30_000)
    shoot(ann, "alert")
    ann.goto("/alerts")
    triage(ann, chosen, "escalate", **{"Case title (escalate)": "Unexplained lookups"})
    expect(ann.locator("#flash")).to_contain_text("escalated: case PSD-")
    ann.get_by_role("link", name="Open the case").click()
    expect(ann.get_by_role("heading", name=re.compile("PSD-.*Unexplained lookups"))).to_be_visible()
    case_url = ann.url

    def submit(legend: str, **fields: str) -> None:
        form = ann.locator("fieldset", has=ann.locator("legend", has_text=legend))
        for label, value in fields.items():
            control = form.get_by_label(label)
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)
        form.get_by_role("button").click()
        ann.wait_for_load_state()

    submit("Owner and reviewer", Reviewer="rita")
    expect(ann.get_by_text("Assigned.")).to_be_visible()
    submit("Move the case on", **{"New status": "assessment", "Reason": "no work reason found"})
    submit("Add an allegation", Breach="unauthorised_access", Systems="PNC")
    person = ann.locator('a[href^="/people/"]').first.inner_text()
    submit("Record an outcome", Employee=person, Outcome="management_advice")
    expect(ann.get_by_text("Outcome recorded.")).to_be_visible()
    submit("Record an outcome", Employee=person, Outcome="resigned_during_proceedings")
    submit("Move the case on", **{"New status": "outcome", "Reason": "outcomes decided"})
    submit("Move the case on", **{"New status": "review", "Reason": "ready for sign-off"})
    expect(ann.locator("h1 .badge")).to_have_text("review")
    shoot(ann, "case")

    ann.locator('a[href^="/people/"]').first.click()
    expect(ann.get_by_role("heading", name=re.compile("Employee"))).to_be_visible()
    shoot(ann, "person")
    ann.goto("/ledger")
    expect(ann.get_by_role("heading", name="Ledger")).to_be_visible()
    shoot(ann, "ledger")

    # Need-to-know: another investigator cannot open the case.
    bob = signed_in(browser, base_url, "bob")
    refused = bob.goto(case_url)
    assert refused is not None and refused.status == 403
    expect(bob.get_by_text("need-to-know")).to_be_visible()

    # The reviewer, not the owner, signs it off.
    rita = signed_in(browser, base_url, "rita")
    rita.goto(case_url)
    rita.get_by_label("Closing note").fill("Advice given; the employee resigned.")
    rita.get_by_role("button", name="Sign off and close").click()
    expect(rita.get_by_text("Case closed and signed off.")).to_be_visible()
    expect(rita.locator("h1 .badge")).to_have_text("closed")
    shoot(rita, "case-closed")
    rita.locator('main a[href^="/alerts/"]').first.click()
    rita.locator('a[href^="/subjects/"]').first.click()
    expect(rita.get_by_role("heading", name=re.compile("Subject"))).to_be_visible()
    shoot(rita, "subject")
    rita.goto("/")
    expect(rita.locator("svg.chart")).to_be_visible()
    shoot(rita, "dashboard-outcomes")


def witnessed_checkpoint(site: Site, witness_dir: Path) -> None:
    """Sign a checkpoint of the ledger, have a witness cosign it, keep the cosignature."""
    with open_store(site.home) as store:
        if not store.catalog.checkpoints():
            issue_checkpoint(store, generate_signer("police.example/custodes"))
        identity = store.catalog.log_identity()
        assert identity is not None
        witness = Witness.init(witness_dir, "pcc.example/witness")
        witness.trust_log(identity[1])
        note = store.catalog.checkpoints()[-1].note
        reply = witness.handle(format_add_checkpoint(0, [], note))
        assert reply.status == 200, reply.body
        keep_cosignatures(store, reply.body, [witness.verifier.vkey])


def test_the_dpo_answers_a_subject_access_request_in_the_browser(
    site: Site, base_url: str, browser: Browser, tmp_path: Path
) -> None:
    witnessed_checkpoint(site, tmp_path / "witness")
    with open_store(site.home) as store:
        ((subject, accesses),) = store.query(
            "SELECT subject_id, count(*) FROM access_events WHERE subject_id IS NOT NULL "
            "GROUP BY 1 HAVING count(DISTINCT person_id) >= 3 ORDER BY 2, 1 LIMIT 1"
        )
    dora = signed_in(browser, base_url, "dora")
    dora.get_by_role("link", name="Subject access").click()
    expect(dora.get_by_role("heading", name="Subject access")).to_be_visible()
    dora.get_by_label("Subject identifier").fill(subject)
    dora.get_by_role("button", name="Generate the report").click()
    expect(dora.get_by_role("heading", name=re.compile("Report SAR-"))).to_be_visible()
    expect(dora.locator("section tbody tr")).to_have_count(accesses)
    expect(dora.get_by_text("not named (units only)")).to_be_visible()
    shoot(dora, "subject-access")
    with dora.expect_download() as download:
        dora.get_by_role("button", name="Download the PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    with dora.expect_download() as download:
        dora.get_by_role("button", name="Download the JSON").click()
    assert download.value.suggested_filename.endswith(".json")

    dora.get_by_role("link", name="Ledger").click()
    expect(dora.get_by_role("cell", name="pcc.example/witness").first).to_be_visible()
    shoot(dora, "ledger-witnessed")


def test_the_browser_runs_no_inline_script_under_the_content_security_policy(
    base_url: str, browser: Browser
) -> None:
    page = browser.new_context(base_url=base_url).new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto("/login")
    page.get_by_label("Name").fill("dora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/alerts")
    expect(page.get_by_role("heading", name="Alert queue")).to_be_visible()
    assert page.evaluate("typeof htmx") == "object", "HTMX is served from the package"
    assert violations == []


def test_chromium_is_debians(browser: Browser) -> None:
    assert shutil.which("chromium") == str(CHROMIUM)
    assert browser.version


def test_the_foi_and_subject_access_reports_render_as_pages_with_their_titles(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    """The reports people receive, rendered by a real browser engine and checked as images:
    not blank, charts drawn, the expected titles on the page."""
    import io

    from PIL import Image

    from custodes.cases.importer import import_cases
    from custodes.report import Period, Source, build_report, render
    from custodes.report import charts as report_charts
    from custodes.subject import subject_access_report
    from custodes.subject.render import to_html

    history = tmp_path / "history.csv"
    history.write_text(
        "case_id,force,incident_date,person_ref,role,breach_type,outcome,outcome_date,systems,notes\n"
        "C1,,2014-02-03,P1,officer,unauthorised_access,conviction_dpa_s170,2015-01-01,PNC,\n"
        "C1,,2014-02-03,P1,officer,unauthorised_access,dismissal_without_notice,,PNC,\n"
        "C2,,2014-06-30,P2,staff,inappropriate_disclosure,no_further_action,,RMS;PND,\n"
        "C3,,2014-11-11,P3,staff,other,written_warning,,,\n"
    )
    import_cases(history, tmp_path / "reports")
    report = build_report([Source(tmp_path / "reports")], Period.parse("2014-01-01", "2014-12-31"))
    foi = render(report, "foi", "html").decode()
    with open_store(site.home) as store:
        if not store.catalog.checkpoints():
            issue_checkpoint(store, generate_signer("police.example/custodes"))
        (subject,) = store.query(
            "SELECT subject_id FROM access_events WHERE subject_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )[0]
    sar = to_html(subject_access_report(site.home, str(subject), requested_by="dora", record=False))
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        for name, html, titles in (
            (
                "foi-report",
                foi,
                [
                    "Misuse of police data: incidents and outcomes",
                    report_charts.MONTH_TITLE,
                    report_charts.OUTCOME_TITLE,
                ],
            ),
            ("subject-access-report", sar, ["Access to your records"]),
        ):
            page.set_content(html)
            text = " ".join(page.inner_text("body").split())
            for title in titles:
                assert title in text, f"{name}: {title!r} is not on the page"
            shot = page.screenshot(full_page=True)
            image = Image.open(io.BytesIO(shot)).convert("RGB")
            assert image.height > 600, f"{name}: the page is nearly empty"
            assert len(image.getcolors(maxcolors=1 << 18) or []) > 50, f"{name} looks blank"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / f"{name}.png").write_bytes(shot)
    finally:
        page.close()
