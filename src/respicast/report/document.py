"""A small document model written out both as Markdown and as self-contained HTML.

Building blocks once and rendering twice keeps report.md and report.html in step without a
Markdown parser; the HTML embeds every image as base64 so the file can be mailed alone.
"""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 0.8em;
  color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #eee; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figure { margin: 1em 0; }
@media (max-width: 600px) { body { margin: 0.5em auto; } table { font-size: 0.8em; }
  th, td { padding: 3px 4px; white-space: nowrap; } }
.note { color: #555; font-size: 0.9em; }
"""


@dataclass
class Cell:
    """A table cell; ``strong`` marks the best of a column."""

    text: str
    strong: bool = False


@dataclass
class Document:
    title: str
    blocks: list[tuple] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", level, text))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def bullets(self, items: list[str]) -> None:
        self.blocks.append(("bullets", items))

    def table(self, headers: list[str], rows: list[list[Cell | str]]) -> None:
        norm = [[c if isinstance(c, Cell) else Cell(str(c)) for c in row] for row in rows]
        self.blocks.append(("table", headers, norm))

    def image(self, caption: str, path: Path) -> None:
        self.blocks.append(("image", caption, Path(path)))

    def to_markdown(self, md_path: Path) -> str:
        out = [f"# {self.title}", ""]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                out += ["#" * block[1] + " " + block[2], ""]
            elif kind == "paragraph":
                out += [block[1], ""]
            elif kind == "bullets":
                out += [f"- {item}" for item in block[1]] + [""]
            elif kind == "table":
                headers, rows = block[1], block[2]
                out.append("| " + " | ".join(headers) + " |")
                out.append("|" + "|".join(["---"] * len(headers)) + "|")
                for row in rows:
                    cells = [f"**{c.text}**" if c.strong else c.text for c in row]
                    out.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
                out.append("")
            elif kind == "image":
                rel = os.path.relpath(block[2], Path(md_path).parent)
                out += [f"![{block[1]}]({rel})", ""]
        return "\n".join(out)

    def to_html(self) -> str:
        esc = html.escape
        out = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                out.append(f"<h{block[1]}>{esc(block[2])}</h{block[1]}>")
            elif kind == "paragraph":
                out.append(f"<p>{esc(block[1])}</p>")
            elif kind == "bullets":
                out.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in block[1]) + "</ul>")
            elif kind == "table":
                head = "".join(f"<th>{esc(h)}</th>" for h in block[1])
                body = "".join(
                    "<tr>"
                    + "".join(
                        f"<td><b>{esc(c.text)}</b></td>" if c.strong else f"<td>{esc(c.text)}</td>"
                        for c in row
                    )
                    + "</tr>"
                    for row in block[2]
                )
                out.append(
                    f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
                    f"<tbody>{body}</tbody></table></div>"
                )
            elif kind == "image":
                data = base64.b64encode(block[2].read_bytes()).decode("ascii")
                out.append(
                    f'<figure><img alt="{esc(block[1])}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{esc(block[1])}</figcaption></figure>"
                )
        out.append("</body></html>")
        return "\n".join(out)

    def write(self, md_path: Path, html_path: Path) -> tuple[Path, Path]:
        md_path.write_text(self.to_markdown(md_path), encoding="utf-8")
        html_path.write_text(self.to_html(), encoding="utf-8")
        return md_path, html_path
