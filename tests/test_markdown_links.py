"""`diff --format markdown` goes into a pull request comment or the CI job summary: the text a
pull request writes (display names, emails, group names, attribute values, settings) must
come out as text there, never as a link, an image, an entity, math, a mention or an emoji. A bare
https:// or www. URL and an email are links in GitHub Flavored Markdown without any syntax
around them (its autolink extension), so a display name "reset at https://evil.example"
was a phishing link in the job summary.

The spec's patterns are asserted on the output; with cmarkgfm (GitHub's own cmark fork,
requirements-dev.txt) the output is also rendered and its HTML read."""

from __future__ import annotations

import html as html_text
import html.parser as html_parser
import re
from pathlib import Path

import pytest

from tests.gitrepo import git_project
from tests.helpers import run_main, write_json

pytestmark = pytest.mark.usefixtures("isolated_git")

ADMIN = {"name": "Stefan", "email": "stefan@example.org", "groups": ["admins"], "is_admin": True}
HOSTILE = {
    "name": "IT desk: re-enrol at https://evil.example/sso or www.evil.example, mail help@evil.example "
            "&commat;acme/admins approved $\\Huge{OK}$, see GH-12 and 5b314a9c81fdb1ba323ed",
    "email": "eve@example.org",
    "groups": ["https://evil.example/g"],
}

# GFM's extended autolinks (spec 0.29, section 6.9): www., http(s)/ftp://, an email (the
# protocols mailto: and xmpp: only prefix one); an entity (&commat; is an @ once rendered);
# GitHub's math between dollars.
# GitHub's own references, resolved after rendering (so cmarkgfm cannot show them): GH-12 is
# issue 12, a run of 7 or more hex digits a commit (a pull request's author picks its SHA).
AUTOLINKS = re.compile(r"(?i)www\.|(?:https?|ftp)://|[\w.+-]@[\w-]|(?<!\\)&[#\w]|(?<!\\)\$"
                       r"|\bgh-\d|(?<![0-9a-f])[0-9a-f]{7}")


def _diff(root: Path) -> str:
    shown = run_main(root, "diff", "--format", "markdown")
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def _outside_code(markdown: str) -> str:
    return re.sub(r"`[^`\n]*`", "", markdown)


def _hostile_change(tmp_path: Path) -> Path:
    root = git_project(tmp_path / "repo", {"users": {"stefan": ADMIN, "eve": {"name": "Eve", "email": "eve@example.org"}}})
    write_json(root / "users.json", {"users": {"stefan": ADMIN, "eve": HOSTILE, "mallory": {
        **HOSTILE, "email": "mallory@example.org"}}})
    return root


def test_user_text_makes_no_autolink_entity_or_math(tmp_path: Path) -> None:
    shown = _diff(_hostile_change(tmp_path))
    assert "Onboarded" in shown and "Changed" in shown, shown  # the text reaches both tables
    found = AUTOLINKS.findall(_outside_code(shown))
    assert not found, f"{found}\n{shown}"


def test_rendered_by_github_markdown_the_summary_links_nowhere(tmp_path: Path) -> None:
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (requirements-dev.txt) renders GitHub's Markdown")
    from cmarkgfm.cmark import Options

    html = cmarkgfm.github_flavored_markdown_to_html(_diff(_hostile_change(tmp_path)), options=Options.CMARK_OPT_UNSAFE)
    assert "<a " not in html and "<img" not in html, html
    text = html_text.unescape(re.sub(r"<[^>]+>", "", html))
    # Still readable: the reviewer sees exactly what the entry says.
    assert "re-enrol at https://evil.example/sso or www.evil.example, mail help@evil.example" in text, text
    assert "&commat;acme/admins approved $\\Huge{OK}$, see GH-12 and 5b314a9c81fdb1ba323ed" in text, text
    assert "mallory@example.org" in text and "https://evil.example/g" in text, text


def test_a_base_username_cannot_end_its_code_span(tmp_path: Path) -> None:
    """A committed base is read without its checks (a users.json pushed past them, or an
    earlier commit of the pull request named with --base): its usernames may hold a backtick,
    which ended the code span they are shown in and let the rest be Markdown."""
    evil = "x` ![a](https://evil.example/p.png) [click](https://evil.example) | |`"
    root = git_project(tmp_path / "repo", {"users": {"stefan": ADMIN, evil: {
        "name": "E", "email": "e@example.org", "is_admin": True}}})
    write_json(root / "users.json", {"users": {"stefan": ADMIN}})
    shown = _diff(root)
    assert "evil.example/p.png" in shown, shown
    outside = _outside_code(shown)
    assert "![" not in outside and "](" not in outside, shown
    row = next(line for line in shown.splitlines() if "evil.example/p.png" in line and line.startswith("|"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 4, row  # User | Name | Email: the pipes are in the name


def test_problems_in_markdown_link_nowhere(tmp_path: Path) -> None:
    """A change with problems prints them in the summary instead: the user text quoted in a
    message is the pull request's too."""
    root = git_project(tmp_path / "repo", {"users": {"stefan": ADMIN}})
    write_json(root / "users.json", {"users": {"stefan": ADMIN, "eve": {
        "name": "Eve", "email": "re-enrol at https://evil.example/sso", "groups": ["www.evil.example "]}}})
    shown = run_main(root, "diff", "--format", "markdown")
    assert shown.returncode == 1 and "is not an email address" in shown.stdout, shown.stdout + shown.stderr
    assert "evil.example/sso" in shown.stdout and "evil.example " in shown.stdout, shown.stdout
    assert not AUTOLINKS.findall(_outside_code(shown.stdout)), shown.stdout


# GitHub turns :name: into an emoji after rendering, in each HTML text node outside code, pre
# and tt (html-pipeline's EmojiFilter), so neither a backslash nor an entity stops it: cmark
# has made both a plain ":" by then. A contributor's ":white_check_mark: approved" would read
# as a verdict of the tool's own.
SHORTCODE = re.compile(r"(?i):[a-z0-9_+-]+:")
BADGES = ":warning: flagged :white_check_mark: approved by security :+1:"


class _TextNodes(html_parser.HTMLParser):
    """The text nodes of rendered HTML outside code, as GitHub's emoji filter sees them: a
    tag or a comment ends one."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self.code = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.code += tag in ("code", "pre", "tt")

    def handle_endtag(self, tag: str) -> None:
        self.code -= tag in ("code", "pre", "tt")

    def handle_data(self, data: str) -> None:
        if not self.code:
            self.nodes.append(data)


def _emoji(markdown: str) -> tuple[list[str], str]:
    """The shortcodes GitHub would render as emoji in markdown, and the text it shows."""
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (requirements-dev.txt) renders GitHub's Markdown")
    from cmarkgfm.cmark import Options

    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    nodes = _TextNodes()
    nodes.feed(html)
    nodes.close()
    return [m for node in nodes.nodes for m in SHORTCODE.findall(node)], html_text.unescape(re.sub(r"<[^>]+>", "", html))


def test_user_text_makes_no_emoji(tmp_path: Path) -> None:
    """Every place users.json or settings.json text reaches the summary: names onboarded,
    offboarded and changed, group names (in a person's row and in the Groups table), a
    setting's value."""
    root = git_project(tmp_path / "repo", {"users": {
        "stefan": ADMIN, "eve": {"name": "Eve", "email": "eve@example.org"},
        "mallory": {"name": f"Mallory {BADGES}", "email": "mallory@example.org"}}})
    write_json(root / "users.json", {"users": {
        "stefan": ADMIN, "eve": {"name": f"Eve {BADGES}", "email": "eve@example.org"},
        "ada": {"name": f"Ada {BADGES}", "email": "ada@example.org", "groups": [":warning:", "ok :+1:"]}}})
    write_json(root / "settings.json", {"brand": {"domain": "auth.example.org", "title": f"Sign in {BADGES}"}})
    shown = _diff(root)
    for section in ("Onboarded", "Offboarded", "Changed", "Groups", "Settings changed"):
        assert f"#### {section}" in shown, shown
    found, text = _emoji(shown)
    assert not found, f"{found}\n{shown}"
    # Still readable: the reviewer sees exactly what the entries say.
    for said in (f"Ada {BADGES}", f"Mallory {BADGES}", f'"Eve {BADGES}"', f'"Sign in {BADGES}"',
                 '":warning:"', '"ok :+1:"'):
        assert said in text, f"{said!r} not in\n{text}"
    assert "without an override: OK" in shown  # the project's own colons are written as they are


def test_problems_in_markdown_make_no_emoji(tmp_path: Path) -> None:
    root = git_project(tmp_path / "repo", {"users": {"stefan": ADMIN}})
    write_json(root / "users.json", {"users": {"stefan": ADMIN, "eve": {
        "name": "Eve", "email": "eve@example.org", "groups": [":warning: "], ":+1:": "approved"}}})
    shown = run_main(root, "diff", "--format", "markdown")
    assert shown.returncode == 1 and "unknown key" in shown.stdout, shown.stdout + shown.stderr
    found, text = _emoji(shown.stdout)
    assert not found, f"{found}\n{shown.stdout}"
    assert '":warning: " is not a usable group name' in text and 'unknown key ":+1:"' in text, text
    # The project's own colons are written as they are.
    assert "<br>fix: " in shown.stdout, shown.stdout


def test_the_guards_problems_make_no_emoji(tmp_path: Path) -> None:
    """A committed base is read without its checks: a username there may hold anything, and
    the guard and the lost-devices warning quote it."""
    person = {"name": "E", "email": "e@example.org"}
    root = git_project(tmp_path / "repo", {"users": {"stefan": ADMIN, ":white_check_mark:": person,
                                                      "x": {"name": "X", "email": "x@example.org"}}})
    write_json(root / "users.json", {"users": {"stefan": ADMIN, "x": {"name": "X", "email": "x@example.org"},
                                               "ok": person}})
    shown = _diff(root)
    assert "#### Removal guard" in shown and "RENAME WITHOUT" in shown, shown
    found, text = _emoji(shown)
    assert not found, f"{found}\n{shown}"
    assert 'takes the email of ":white_check_mark:", which this change removes' in text, text


@pytest.mark.parametrize("markdown,emoji", [
    (":warning:", True),
    ("\\:warning\\:", True),  # cmark drops the backslash before GitHub looks
    ("&#58;warning&#58;", True),  # and decodes the entity
    (":<!-- -->warning:", False),  # two text nodes, ":" and "warning:"
    ("`:warning:`", False),  # code
])
def test_the_emoji_check_reads_what_github_reads(markdown: str, emoji: bool) -> None:
    assert bool(_emoji(markdown)[0]) is emoji
