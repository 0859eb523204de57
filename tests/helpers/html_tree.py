"""A small HTML tree for tests that read a page as a person does: its visible words,
its labels, and the error each invalid field points to (stdlib only)."""

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}
_UNSEEN = {"script", "style", "template", "head"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list["Element | str"] = field(default_factory=list)

    def text(self) -> str:
        """The words inside, as one space-separated line (scripts and styles left out)."""
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag not in _UNSEEN:
                parts.append(child.text())
        return " ".join(" ".join(parts).split())

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def by_id(root: Element, element_id: str) -> Element | None:
    return next((e for e in root.iter() if e.attrs.get("id") == element_id), None)


def label_of(root: Element, control: Element) -> str:
    """The text of a control's label (<label for=…>, or the label around it), without
    its "(optional)" mark."""
    label = next(
        (
            e
            for e in root.iter()
            if e.tag == "label"
            and (
                e.attrs.get("for") == control.attrs.get("id") or any(x is control for x in e.iter())
            )
        ),
        None,
    )
    assert label is not None, f"no label for #{control.attrs.get('id')}"
    kept = Element("label", {}, [c for c in label.children if not _is_mark(c)])
    return kept.text()


def _is_mark(child: Element | str) -> bool:
    return isinstance(child, Element) and bool(child.classes() & {"optional", "required-mark"})


def _path_to(node: Element, target: Element) -> list[Element] | None:
    if node is target:
        return [node]
    for child in node.children:
        if isinstance(child, Element) and (path := _path_to(child, target)):
            return [node, *path]
    return None


def group_names(root: Element, control: Element) -> list[str]:
    """The names of the groups around a control, innermost first: a fieldset's legend,
    or a role="group" element's label ("Delay", "Monday"), without a "(…)" hint."""
    names = []
    for ancestor in reversed(_path_to(root, control) or []):
        name = ""
        if ancestor.tag == "fieldset":
            legend = next((c for c in ancestor.children if getattr(c, "tag", "") == "legend"), None)
            name = legend.text() if legend else ""
        elif ancestor.attrs.get("role") == "group":
            labelled_by = by_id(root, ancestor.attrs.get("aria-labelledby", ""))
            name = labelled_by.text() if labelled_by else ancestor.attrs.get("aria-label", "")
        if name:
            names.append(name.split(" (")[0])
    return names


def invalid_controls(root: Element) -> list[Element]:
    return [e for e in root.iter() if e.attrs.get("aria-invalid") == "true"]


def error_of(root: Element, control: Element) -> str:
    """The text of the error message a control is described by (ids ending "-error")."""
    ids = [i for i in control.attrs.get("aria-describedby", "").split() if i.endswith("-error")]
    assert ids, f"#{control.attrs.get('id')} is invalid but points to no error message"
    found = by_id(root, ids[0])
    assert found is not None, f"#{ids[0]} is missing"
    return found.text()


def code_block(page: str, element_id: str) -> str:
    """The text inside `<code id=...>` as the browser shows (and copies) it."""
    match = re.search(rf'<code[^>]* id="{element_id}">(.*?)</code>', page, re.S)
    assert match, f"no code block #{element_id}"
    return html.unescape(match.group(1))
