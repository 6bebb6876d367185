"""The web apps in a real browser (issue 8): a customer in the widget on /demo, agents in /console and a
supervisor on /wallboard hold one chat end to end, over a server of their own."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from conftest import ServerProc
from tests_support import midday_timezone

from .conftest import Pages

XSS = "<img src=x onerror=alert(1)>"
Shot = Callable[[Page, str], None]


def _config(cfg: dict[str, Any]) -> None:
    tenant = cfg["tenants"][0]
    tenant["timezone"] = midday_timezone()  # the wallboard's day figures are checked
    tenant["timers"]["form_timeout_seconds"] = 30
    for ep in tenant["entry_points"]:
        if ep.get("id") == "widget":
            ep["post_chat_survey"]["timeout_seconds"] = 30


# -- page helpers --------------------------------------------------------------------------------
def sign_in(page: Page, url: str, login: str) -> None:
    page.goto(url)
    page.fill("#login-form input[name=login]", login)
    page.fill("#login-form input[name=password]", "demo")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#conn-state")).to_have_text(re.compile("Connected|Live"))


def set_ready(page: Page) -> None:
    page.select_option("#state-select", "ready")
    expect(page.locator("#state-dot")).to_have_attribute("data-state", "ready")


def panel(page: Page) -> Any:
    return page.locator(".chat-panel:not([hidden])")


def agent_send(page: Page, text: str) -> None:
    box = panel(page).locator(".composer-text")
    box.fill(text)
    box.press("Enter")


def open_widget(page: Page, base: str, first: str, last: str, email: str, question: str) -> None:
    page.goto(base + "/demo")
    page.locator(".launcher").click()
    page.locator("input[name=first_name]").fill(first)
    page.locator("input[name=last_name]").fill(last)
    page.locator("input[name=email]").fill(email)
    page.locator("textarea[name=__question]").fill(question)
    expect(page.locator(".status")).to_contain_text("Estimated wait")
    page.get_by_role("button", name="Start chat").click()
    expect(page.locator(".status")).to_have_text(re.compile("Waiting for an agent|Connecting you"))


def customer_send(page: Page, text: str) -> None:
    box = page.locator(".composer textarea")
    box.fill(text)
    box.press("Enter")


def queue_cell(wall: Page, column: str) -> Any:
    return wall.locator(f"#queues-table tr[data-queue=support] td.{column}")


def agent_cell(wall: Page, login: str, column: str) -> Any:
    return wall.locator(f"#agents-table tr[data-login={login}] td.{column}")


def no_injected_images(page: Page) -> None:
    count = page.evaluate(
        """() => {
            const roots = [document];
            for (const n of document.querySelectorAll('*')) if (n.shadowRoot) roots.push(n.shadowRoot);
            return roots.reduce((k, r) => k + r.querySelectorAll('img[src="x"]').length, 0);
        }"""
    )
    assert count == 0


# -- the whole chat --------------------------------------------------------------------------------
def test_chat_end_to_end_widget_console_wallboard(
    server_factory: Callable[..., ServerProc], pages: Pages, shot: Shot, tmp_path: Path
) -> None:
    srv = server_factory(_config, name="web")
    base = srv.base_url

    wall = pages.new("wallboard", 1400, 900)
    sign_in(wall, base + "/wallboard", "sam")
    expect(queue_cell(wall, "waiting")).to_have_text("0")

    alice = pages.new("alice")
    sign_in(alice, base + "/console", "alice")
    bob = pages.new("bob")
    sign_in(bob, base + "/console", "bob")
    set_ready(alice)
    expect(agent_cell(wall, "alice", "state")).to_contain_text("Ready")

    # the customer starts a chat from the widget: pre-chat form, estimated wait
    customer = pages.new("customer")
    open_widget(customer, base, "Carol", "Nguyen", "carol@example.com", "Hello, my order never arrived")

    # the offer rings in alice's console; the wallboard counts the chat as waiting
    offer = alice.locator(".offer")
    expect(offer.locator(".offer-customer")).to_have_text("Carol Nguyen")
    expect(offer.locator(".preview")).to_contain_text("my order never arrived")
    expect(alice.locator("body")).to_have_class(re.compile("ringing"))
    expect(queue_cell(wall, "waiting")).to_have_text("1")
    expect(wall.locator("#chats-table tbody tr .customer")).to_have_text("Carol Nguyen")
    shot(alice, "console-offer")
    shot(customer, "widget-queued")
    offer.locator(".accept").click()

    # accepted: a tab, the pre-chat fields beside the chat, the wallboard moves on
    expect(alice.locator(".chat-tab .tab-name")).to_have_text("Carol Nguyen")
    info = panel(alice).locator(".chat-info")
    expect(info).to_contain_text("carol@example.com")
    expect(info).to_contain_text("First name")
    # the chat's CRM activity is the screen pop (no demo contact has this e-mail)
    expect(info.locator("h3", has_text="CRM")).to_have_count(1)
    expect(info.locator("a.screen-pop")).to_have_text("Open Activity in CRM")
    expect(panel(alice).locator(".msg.customer .text")).to_have_text("Hello, my order never arrived")
    expect(customer.locator(".log .sys").filter(has_text="Alice Martin joined the chat.")).to_have_count(1)
    expect(customer.locator(".status")).to_contain_text("chatting with Alice")
    expect(queue_cell(wall, "waiting")).to_have_text("0")
    expect(wall.locator("#chats-table tbody tr td.state")).to_have_text("connected")
    expect(agent_cell(wall, "alice", "load")).to_have_text("1 / 3")

    # typing both ways, messages both ways
    panel(alice).locator(".composer-text").press_sequentially("Hi Carol", delay=20)
    expect(customer.locator(".typing")).to_have_text("Alice is typing…")
    agent_send(alice, "Hi Carol, let me check that order.")
    expect(customer.locator(".msg.agent .text")).to_have_text(["Hi Carol, let me check that order."])
    expect(customer.locator(".typing")).to_have_text("")
    customer.locator(".composer textarea").press_sequentially("It was", delay=20)
    expect(panel(alice).locator(".typing")).to_contain_text("Carol Nguyen is typing")
    customer.locator(".composer textarea").fill("")
    customer_send(customer, "Order 1234, thanks!")
    expect(panel(alice).locator(".msg.customer .text").last).to_have_text("Order 1234, thanks!")

    # markup is text, both ways
    customer_send(customer, XSS)
    expect(panel(alice).locator(".msg.customer .text").last).to_have_text(XSS)
    agent_send(alice, XSS)
    expect(customer.locator(".msg.agent .text").last).to_have_text(XSS)

    # files both ways
    customer.locator("input[type=file]").set_input_files(
        files=[{"name": "receipt.txt", "mimeType": "text/plain", "buffer": b"receipt 1234\n"}]
    )
    customer_file = panel(alice).locator(".msg.customer .file-name")
    expect(customer_file).to_have_text("receipt.txt")
    with alice.expect_download() as dl:
        panel(alice).locator(".msg.customer .file-link").click()
    assert Path(dl.value.path()).read_bytes() == b"receipt 1234\n"
    panel(alice).locator("input[type=file]").set_input_files(
        files=[{"name": "steps.txt", "mimeType": "text/plain", "buffer": b"1. wait\n2. smile\n"}]
    )
    expect(customer.locator(".msg.agent .file-name")).to_have_text("steps.txt")
    href = customer.locator(".msg.agent .file-link").get_attribute("href")
    assert customer.evaluate("async (u) => (await fetch(u)).text()", href) == "1. wait\n2. smile\n"

    # canned responses: the menu and a /shortcut
    panel(alice).locator(".canned").select_option(label="Welcome (/hi)")
    expect(panel(alice).locator(".composer-text")).to_have_value("Hello! How can I help you today?")
    panel(alice).locator(".composer-text").press("Enter")
    expect(customer.locator(".msg.agent .text").last).to_have_text("Hello! How can I help you today?")
    box = panel(alice).locator(".composer-text")
    box.fill("/xfer")
    box.press("Tab")
    expect(box).to_have_value("I am transferring you to a colleague who can help with this.")
    box.press("Enter")
    expect(customer.locator(".msg.agent .text").last).to_have_text(
        "I am transferring you to a colleague who can help with this."
    )
    shot(alice, "console-chat")
    shot(customer, "widget-chat")
    shot(wall, "wallboard-connected")

    # transfer to bob's console
    set_ready(bob)
    panel(alice).locator(".transfer-btn").click()
    target = panel(alice).locator(".transfer-target")
    expect(target.locator("option[value='agent:bob']")).to_be_enabled()
    target.select_option("agent:bob")
    panel(alice).locator(".transfer-note").fill("Lost parcel, order 1234")
    panel(alice).locator(".transfer-form button[type=submit]").click()
    expect(panel(alice).locator(".chat-banner")).to_contain_text("Transfer to Bob Chen pending")
    bob_offer = bob.locator(".offer")
    expect(bob_offer.locator(".offer-meta")).to_contain_text("Transfer from Alice Martin")
    expect(bob_offer.locator(".offer-note")).to_contain_text("Lost parcel, order 1234")
    bob_offer.locator(".accept").click()
    expect(alice.locator(".chat-tab")).to_have_count(0)
    expect(bob.locator(".chat-tab .tab-name")).to_have_text("Carol Nguyen")
    expect(panel(bob).locator(".msg.customer .text").first).to_have_text("Hello, my order never arrived")
    expect(panel(bob).locator(".msg.customer .text").filter(has_text=XSS)).to_have_count(1)
    expect(customer.locator(".log .sys").filter(has_text="Bob Chen joined the chat.")).to_have_count(1)
    expect(agent_cell(wall, "bob", "load")).to_have_text("1 / 3")
    expect(agent_cell(wall, "alice", "load")).to_have_text("0 / 3")
    expect(wall.locator("#chats-table tbody tr td.agents")).to_have_text("Bob Chen")
    agent_send(bob, "Bob here: a new parcel is on its way.")
    expect(customer.locator(".msg.agent .text").last).to_have_text("Bob here: a new parcel is on its way.")
    expect(customer.locator(".msg.agent .author").last).to_have_text("Bob")

    # the customer ends the chat: the entry point's post-chat survey, then the end
    customer.get_by_role("button", name="End chat").click()
    survey = customer.locator("form.survey")
    expect(survey.locator("h3")).to_have_text("How did we do?")
    shot(customer, "widget-survey")
    survey.locator("fieldset.rating label.option", has_text="5").click()
    survey.locator("fieldset.yes_no label.option", has_text="Yes").click()
    survey.locator("textarea[name=q-comment]").fill("Great help from Bob")
    survey.get_by_role("button", name="Send feedback").click()
    expect(customer.locator(".thanks")).to_have_text("Thank you for your feedback!")
    expect(customer.locator(".status")).to_have_text("The chat has ended.")
    with customer.expect_download() as dl:
        customer.get_by_role("button", name="Download transcript").click()
    transcript = Path(dl.value.path()).read_text()
    assert "Hi Carol, let me check that order." in transcript
    assert XSS in transcript
    assert "Bob here: a new parcel is on its way." in transcript
    shot(customer, "widget-ended")

    # bob wraps up with a disposition
    wrap = panel(bob).locator(".wrapup-form")
    expect(wrap).to_be_visible()
    expect(panel(bob).locator(".log")).to_contain_text("Survey")
    shot(bob, "console-wrapup")
    wrap.locator(".disposition").select_option("resolved")
    wrap.locator(".wrapup-notes").fill("Resent the parcel")
    wrap.get_by_role("button", name="Complete wrap-up").click()
    expect(bob.locator(".chat-tab")).to_have_count(0)

    # the wallboard saw it all
    expect(wall.locator("#surveys .survey .answer").first).to_have_text("5", timeout=15_000)
    expect(wall.locator("#surveys .survey")).to_contain_text("Great help from Bob")
    expect(agent_cell(wall, "bob", "handled")).to_have_text("1")
    expect(queue_cell(wall, "answered")).to_have_text("1")
    expect(wall.locator("#chats-table tbody tr")).to_have_count(0)
    shot(wall, "wallboard-after")

    for page in (alice, bob, customer, wall):
        no_injected_images(page)
    assert pages.dialogs == []
    assert pages.errors == []


# -- a network drop, hostile names, phone widths -------------------------------------------------
def test_console_resumes_after_network_drop_and_phone_layout(
    server_factory: Callable[..., ServerProc], pages: Pages, shot: Shot
) -> None:
    srv = server_factory(_config, name="web-resume")
    base = srv.base_url

    alice = pages.new("alice")
    sign_in(alice, base + "/console", "alice")
    set_ready(alice)
    customer = pages.new("customer", 390, 844)
    open_widget(customer, base, XSS, "Doe", "x@example.com", XSS)
    offer = alice.locator(".offer")
    expect(offer.locator(".offer-customer")).to_have_text(f"{XSS} Doe")
    offer.locator(".accept").click()
    expect(alice.locator(".chat-tab .tab-name")).to_have_text(f"{XSS} Doe")
    expect(panel(alice).locator(".msg.customer .text")).to_have_text(XSS)
    agent_send(alice, "Hello!")
    expect(customer.locator(".msg.agent .text")).to_have_text(["Hello!"])

    # the console loses the network; the customer keeps writing; the agent writes too
    alice.context.set_offline(True)
    expect(alice.locator("#conn-state")).not_to_have_text("Connected", timeout=15_000)
    for i in range(3):
        customer_send(customer, f"while you were away {i}")
    expect(customer.locator(".msg.me.pending")).to_have_count(0)
    agent_send(alice, "sent while offline")
    expect(panel(alice).locator(".msg.me.pending")).to_have_count(1)
    alice.wait_for_timeout(500)
    assert "while you were away 2" not in panel(alice).locator(".log").inner_text()  # really cut off
    shot(alice, "console-offline")
    alice.context.set_offline(False)
    expect(alice.locator("#conn-state")).to_have_text("Connected", timeout=15_000)
    seen = panel(alice).locator(".msg.customer .text")
    for i in range(3):
        expect(seen.filter(has_text=f"while you were away {i}")).to_have_count(1)
    expect(customer.locator(".msg.agent .text").filter(has_text="sent while offline")).to_have_count(1)
    expect(panel(alice).locator(".msg.me .text").filter(has_text="sent while offline")).to_have_count(1)
    expect(panel(alice).locator(".msg.pending")).to_have_count(0)
    texts = panel(alice).locator(".msg .text").all_inner_texts()
    assert len(texts) == len(set(texts)), texts  # nothing doubled

    # a page reload rebuilds the whole chat from the log, once
    alice.reload()
    expect(alice.locator("#conn-state")).to_have_text("Connected")
    expect(seen.filter(has_text="while you were away 2")).to_have_count(1)
    customer.reload()
    expect(customer.locator(".msg.agent .text").filter(has_text="sent while offline")).to_have_count(1)

    # phone widths
    shot(customer, "phone-widget-chat")
    alice.set_viewport_size({"width": 390, "height": 844})
    shot(alice, "phone-console-chat")
    wall = pages.new("wallboard", 390, 844)
    sign_in(wall, base + "/wallboard", "sam")
    expect(wall.locator("#chats-table tbody tr .customer")).to_have_text(f"{XSS} Doe")
    shot(wall, "phone-wallboard")
    for page in (alice, customer, wall):
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"horizontal overflow {overflow}px"
        no_injected_images(page)
    assert pages.dialogs == []
    assert pages.errors == []
