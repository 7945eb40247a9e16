"""Rendering the report's blocks as Markdown and as one self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
import os
import re
import urllib.parse
from pathlib import Path

from PIL import Image

from model.evaluation.claims import CANNOT_TELL, NOT_SUPPORTED, SUPPORTED
from model.infra import atomic
from model.outputs.report.document import Block, Bullets, Contents, Heading, Para, Table, Widget

CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:2em auto;padding:0 1.2em;color:#222;
line-height:1.5;background:#fff}
h1,h2,h3{font-family:Helvetica,Arial,sans-serif;color:#1a3550}h1{font-size:1.8em;margin-bottom:.2em}
h2{border-bottom:2px solid #1a3550;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;font-family:Helvetica,Arial,sans-serif;font-size:.82em;margin:.8em 0}
th,td{border:1px solid #ccd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#e8eef5}td:first-child{white-space:nowrap}tr:nth-child(even) td{background:#f7f9fb}
.scroll{overflow-x:auto}figure{margin:1em 0}img{max-width:100%;border:1px solid #dde}
figcaption{font-size:.9em;color:#444;font-style:italic}
.v-supported{color:#11642a;font-weight:bold}.v-not-supported{color:#a01818;font-weight:bold}
.v-cannot-tell{color:#8a5a00;font-weight:bold}.pass{color:#11642a}.fail{color:#a01818;font-weight:bold}
nav{background:#f2f5f8;padding:.5em 1em;border-radius:4px;font-family:Helvetica,Arial,sans-serif;font-size:.9em}
code{background:#f0f0f0;padding:0 .2em}
h1{margin-top:0}.meta{font-size:.85em;color:#555;margin:.2em 0}
#findings{margin-top:.6em}#findings+p,#findings+p+ul{font-size:.97em;line-height:1.42}
#findings+p+ul li{margin:.25em 0}.lede{color:#444}
h4{font-family:Helvetica,Arial,sans-serif;color:#1a3550;margin:1.2em 0 .3em}
td{overflow-wrap:anywhere}
details.whatif{border:1px solid #ccd;border-radius:4px;padding:.4em .8em;margin:.8em 0;background:#fbfcfe}
details.whatif summary{cursor:pointer;font-family:Helvetica,Arial,sans-serif;color:#1a3550;font-weight:bold}
.wi-body label{display:block;font-family:Helvetica,Arial,sans-serif;font-size:.9em;margin:.4em 0}
.wi-slider input{width:22em;vertical-align:middle}.wi-chosen td{font-weight:bold}.wi-caution{font-size:.9em}
"""


def verdict_class(text: str) -> str:
    """CSS class for a verdict cell, or '' for other text."""
    return {SUPPORTED: "v-supported", NOT_SUPPORTED: "v-not-supported", CANNOT_TELL: "v-cannot-tell"}.get(text, "")


# Links to web pages and to sections of the page itself (#anchor).
LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+|#[\w-]+)\)")


def inline_html(text: str) -> str:
    """Escape text, then render [links](url), **bold**, *italic* and `code`."""
    out = html.escape(text, quote=True)
    out = LINK.sub(lambda mt: f'<a href="{mt.group(2)}">{mt.group(1)}</a>', out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


def png_data_uri(path: Path) -> str:
    """A PNG file as a base64 data URI, in the smallest of three forms: the file itself, lossless WebP, or a
    256-colour PNG (plots have few colours: both are about a third of matplotlib's PNG, measured on the run's
    figures)."""
    original = path.read_bytes()
    forms = [("image/png", original)]
    try:
        with Image.open(io.BytesIO(original)) as image:
            image.load()
            webp, palette = io.BytesIO(), io.BytesIO()
            image.save(webp, "WEBP", lossless=True, method=4)
            image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(palette, "PNG", optimize=True)
        forms += [("image/webp", webp.getvalue()), ("image/png", palette.getvalue())]
    except (OSError, ValueError):
        pass  # not an image Pillow can read: embedded as it is
    kind, data = min(forms, key=lambda f: len(f[1]))
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def relative_link(path: Path, out_dir: Path | None) -> str:
    """A link to a file from the folder report.html is written to (a file URI without one)."""
    if out_dir is None:
        return path.resolve().as_uri()
    return urllib.parse.quote(os.path.relpath(path.resolve(), Path(out_dir).resolve()))


def html_block(block: Block, toc: str = "", out_dir: Path | None = None) -> str:
    """One block as HTML (toc: the rendered contents, for a Contents block; out_dir: where the page is written,
    for links to figures it does not embed)."""
    if isinstance(block, Contents):
        return f"<nav>{toc}</nav>"
    if isinstance(block, Widget):
        return block.html
    if isinstance(block, Heading):
        anchor = f' id="{block.anchor}"' if block.anchor else ""
        return f"<h{block.level}{anchor}>{inline_html(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        cls = f' class="{block.css}"' if block.css else ""
        return f"<p{cls}>{inline_html(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        head = "".join(f"<th>{inline_html(h)}</th>" for h in block.header)
        body = "".join("<tr>" + "".join(html_cell(c) for c in row) + "</tr>" for row in block.rows)
        return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    if not block.path.is_file():
        return f"<p><em>Figure missing: {html.escape(block.path.name)}</em></p>"
    alt = html.escape(block.alt or block.caption, quote=True)
    if not block.embed:
        href = html.escape(relative_link(block.path, out_dir), quote=True)
        link = f'<a href="{href}">{inline_html(block.caption)}</a>'
        return f'<p class="figlink">Figure (a file in the run folder): {link}</p>'
    return (
        f'<figure><img src="{png_data_uri(block.path)}" alt="{alt}">'
        f"<figcaption>{inline_html(block.caption)}</figcaption></figure>"
    )


def html_cell(text: str) -> str:
    """A table cell, coloured when it is a verdict or a diagnostic status."""
    cls = verdict_class(text)
    if not cls and text.endswith(" FAIL"):
        cls = "fail"
    elif not cls and text.endswith(" pass"):
        cls = "pass"
    return f'<td class="{cls}">{inline_html(text)}</td>' if cls else f"<td>{inline_html(text)}</td>"


def render_html(blocks: list[Block], out_dir: Path | None = None) -> str:
    """The whole report as one self-contained HTML page (inline CSS, images as data URIs; figures marked not to
    embed are links relative to out_dir)."""
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "Report")
    toc = " · ".join(
        f'<a href="#{b.anchor}">{html.escape(b.text)}</a>'
        for b in blocks
        if isinstance(b, Heading) and b.anchor and b.level == 2
    )
    parts = [html_block(b, toc, out_dir) for b in blocks]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def md_cell(text: str) -> str:
    """A Markdown table cell with pipes escaped."""
    return text.replace("|", "\\|")


def md_block(block: Block, out_dir: Path, toc: str = "") -> str:
    """One block as Markdown; figures link to the run's PNGs relative to out_dir. A heading with an anchor gets an
    HTML anchor before it, so that in-page [links](#anchor) work in Markdown viewers too."""
    if isinstance(block, Contents):
        return toc
    if isinstance(block, Widget):
        return block.text
    if isinstance(block, Heading):
        anchor = f'<a id="{block.anchor}"></a>\n\n' if block.anchor else ""
        return anchor + "#" * block.level + " " + block.text
    if isinstance(block, Para):
        return block.text
    if isinstance(block, Bullets):
        return "\n".join(f"- {i}" for i in block.items)
    if isinstance(block, Table):
        lines = ["| " + " | ".join(md_cell(h) for h in block.header) + " |", "|" + "---|" * len(block.header)]
        lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    rel = os.path.relpath(block.path.resolve(), Path(out_dir).resolve())
    return f"![{block.caption}]({rel})\n\n*{block.caption}*"


def render_markdown(blocks: list[Block], out_dir: Path) -> str:
    """The whole report as Markdown."""
    toc = "Contents: " + " · ".join(
        f"[{b.text}](#{b.anchor})" for b in blocks if isinstance(b, Heading) and b.anchor and b.level == 2
    )
    parts = (md_block(b, out_dir, toc) for b in blocks)
    return "\n\n".join(p for p in parts if p) + "\n"  # a page-only block (a script) has no Markdown


def write_public(path: Path, text: str) -> None:
    """Write text atomically (temp file, then os.replace) with world-readable permissions, as a report is shared."""
    atomic.write_text(path, text)
