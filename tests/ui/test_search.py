"""The search panel shows the server's snippets escaped once, with only <mark> as a tag."""
from __future__ import annotations

import html

from ui.search import snippet_html


def test_a_snippet_shows_apostrophes_ampersands_and_markup_as_the_text_said():
    # what the server sends for "the combatant's <script>alert(1)</script> &amp; grapple" searched for "grapple"
    body = "the combatant's <script>alert(1)</script> &amp; grapple"
    sent = html.escape(body.removesuffix("grapple")) + "<mark>grapple</mark>"
    shown = snippet_html(sent)
    assert shown == sent                                     # already safe: shown as sent, escaped once
    assert "combatant&#x27;s" in shown and "&amp;#x27;" not in shown   # the browser shows combatant's
    assert html.unescape(shown.replace("<mark>", "").replace("</mark>", "")) == body
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "&amp;amp;" in shown                              # the text's own "&amp;" stays text


def test_a_snippet_with_raw_tags_keeps_only_mark():
    shown = snippet_html("<b>bold</b> <mark>hit</mark> <img src=x onerror=alert(1)> it's")
    assert shown == "&lt;b&gt;bold&lt;/b&gt; <mark>hit</mark> &lt;img src=x onerror=alert(1)&gt; it&#x27;s"
