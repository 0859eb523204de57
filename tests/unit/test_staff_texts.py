"""The admin panel's texts written in Python and JavaScript are ready for catalogues, as
its templates are (tests/unit/test_admin_texts.py).

Python: in the admin and sign-in views, the staff page helpers, the template helpers
(`web/templating.py`: "5 minutes ago"), the request model (the promise clock: "due in
3 h") and the services, every
string constant that reads as words (READS_AS_WORDS) is the message of a gettext call or
marker: `staff_text`, `staff_gettext`, `staff_ngettext` (followup/locales.py; extracted
into translations/admin.pot), or `mark` / `gettext` for a text customers read too (the
customers' catalogue). That message is written out, never an f-string or a sum: values go
in by name (`%(name)s`). Not staff UI, so not checked, by rule:
- docstrings and annotations; the messages of log calls and warnings;
- what machines read: SQL (`text()`, `DDL()`, `ondelete=`), regular expressions, markup
  and code (a text that starts with "<"), the keys of a dict or a request (`x["From"]`,
  `.get("From")`, `field="From"`), values compared with (`== "Mobi"`), enum definitions, `__all__`;
- constants that hold a name or code, by their own name: `*_NAME` and `ISSUER` (a
  person's or the product's name), `*_SALT`, `*_COMMAND` (a shell command to type), and
  `technical` (a provider's own words about a failed send, folded away for an operator);
- the messages of exceptions other than DomainError (Python's, a delivery failure's, a
  token's refusal): for developers and the log; a DomainError's message is read;
- the engine's verdict on a reminder (`Verdict`) and the words for the AI model
  (`after_offer=`, `writing=`): the job's record, and the model's prompt;
- the modules in NOT_STAFF_UI, whole (the reason is beside each). CLI output stays
  English, like every CLI message: it is for operators, not staff.

JavaScript: the admin scripts hold no English text; the page hands them theirs,
translated, in `data-texts` on <body> (templates/base.html).
"""

import ast
import builtins
import importlib
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from followup.errors import DomainError
from tests.helpers.texts import READS_AS_WORDS

ROOT = Path(__file__).resolve().parents[2]
FOLLOWUP = ROOT / "followup"
STAFF_MODULES = sorted(
    [
        *FOLLOWUP.glob("web/admin/*.py"),
        *FOLLOWUP.glob("web/auth/*.py"),
        FOLLOWUP / "web" / "staff_pages.py",
        FOLLOWUP / "web" / "errors.py",
        FOLLOWUP / "web" / "templating.py",
        FOLLOWUP / "models" / "followup.py",
        FOLLOWUP / "models" / "staff.py",
        FOLLOWUP / "notify" / "failures.py",
        *FOLLOWUP.glob("services/*.py"),
    ]
)
# Each gettext call or marker, and how many of its first arguments are messages.
MESSAGES_OF = {
    "staff_text": 1,
    "staff_gettext": 1,
    "staff_ngettext": 2,
    "mark": 1,
    "gettext": 1,
    "ngettext": 2,
}
LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "log", "warn"}
MACHINE_CALLS = {
    "text",
    "DDL",
    "compile",
    "get",
    "getenv",
    "TypeVar",
    "Counter",
    "Gauge",
    "Histogram",
}
NOT_READ_CALLS = {"Verdict"}
ENUM_BASES = {"Enum", "StrEnum", "IntEnum"}
KEY_ARGUMENTS = {"field", "ondelete"}
MODEL_ARGUMENTS = {"after_offer", "writing"}
NAME_OR_CODE = re.compile(r"(_NAME|_SALT|_COMMAND|^ISSUER|^__all__|^technical)$")
NOT_STAFF_UI = {
    # `flask backup` / `flask restore`: CLI output.
    "services/backups.py",
    # The demo's business, its customers and their words: sample data in the database.
    "services/demo.py",
    # The API's Idempotency-Key: developers read its errors, and /api/v1 stays English.
    "services/idempotency.py",
    # The reminder jobs: what they return is RQ's record of the job, for operators.
    "services/reminder_sending.py",
}


def called_name(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


class Finder:
    """Collects the texts outside a gettext call or marker, and the messages built
    from pieces, of one module; `namespace` is the module's, to tell its exceptions."""

    def __init__(self, tree: ast.Module, namespace: dict) -> None:
        self.namespace = namespace
        self.skip = docstrings(tree)
        self.found: list[tuple[int, str]] = []
        self.visit(tree)

    def resolved(self, expression: ast.expr) -> object:
        """What a name or dotted name is in the module (None when it cannot tell)."""
        if isinstance(expression, ast.Attribute):
            return getattr(self.resolved(expression.value), expression.attr, None)
        if isinstance(expression, ast.Name):
            return self.namespace.get(expression.id, getattr(builtins, expression.id, None))
        return None

    def is_unread_error(self, name: ast.expr) -> bool:
        """An exception class whose message people do not read: any but a DomainError.
        Only a capitalised name is looked up (a class), nothing of an app or a request."""
        last = name.attr if isinstance(name, ast.Attribute) else getattr(name, "id", "")
        error = self.resolved(name) if last[:1].isupper() else None
        return (
            isinstance(error, type)
            and issubclass(error, BaseException)
            and not issubclass(error, DomainError)
        )

    def not_staff_ui(self, node: ast.AST) -> bool:
        """The node holds nothing staff read (see the rules above)."""
        if isinstance(node, ast.Call):
            name = called_name(node)
            not_read = name in LOG_CALLS | MACHINE_CALLS | NOT_READ_CALLS
            return not_read or self.is_unread_error(node.func)
        if isinstance(node, ast.ClassDef):
            is_enum = any(getattr(base, "id", None) in ENUM_BASES for base in node.bases)
            return is_enum or self.is_unread_error(ast.Name(node.name))
        if isinstance(node, ast.JoinedStr):
            first = node.values[0] if node.values else None
            return isinstance(first, ast.Constant) and first.value.startswith("<")
        if isinstance(node, ast.keyword):
            return node.arg in KEY_ARGUMENTS | MODEL_ARGUMENTS
        if isinstance(node, ast.Assign):
            names = [ast.unparse(target) for target in node.targets]
            return all(NAME_OR_CODE.search(name) for name in names)
        return isinstance(node, ast.Compare)

    def visit(self, node: ast.AST) -> None:
        if self.not_staff_ui(node):
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # Not its annotations (a forward reference: "Filters").
            for part in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
                if part is not None:
                    self.visit(part)
            for statement in node.body:
                self.visit(statement)
            return
        if isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.visit(node.value)
            return
        if isinstance(node, ast.Subscript):
            self.visit(node.value)  # its key is no text
            return
        if isinstance(node, ast.Dict):
            for value in node.values:
                self.visit(value)
            return
        if isinstance(node, ast.Call) and called_name(node) in MESSAGES_OF:
            self.visit_messages(node)
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.check(node)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child)

    def check(self, constant: ast.Constant) -> None:
        text = constant.value
        if id(constant) in self.skip or text.startswith("<"):
            return
        if READS_AS_WORDS.search(text):
            self.found.append((constant.lineno, repr(text)))

    def visit_messages(self, call: ast.Call) -> None:
        count = MESSAGES_OF[called_name(call)]
        for message in call.args[:count]:
            if isinstance(message, ast.JoinedStr | ast.BinOp):
                self.found.append((message.lineno, f"built: {ast.unparse(message)}"))
        for other in [*call.args[count:], *call.keywords]:
            self.visit(other)


def unwrapped(source: str, namespace: dict | None = None) -> list[str]:
    tree = ast.parse(source)
    return [f"{line}: {text}" for line, text in Finder(tree, namespace or {}).found]


def module_name(path: Path) -> str:
    return path.relative_to(FOLLOWUP).as_posix()


def module_namespace(path: Path) -> dict:
    dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return vars(importlib.import_module(dotted))


def test_the_check_finds_a_staff_text_outside_a_marker():
    source = '''
"""A docstring."""
import re
from enum import StrEnum
__all__ = ["Kind", "Other"]
PATTERN = re.compile(r"my name is (\\w+)")
LABELS = {"open": staff_text("Open requests"), "done": "Done"}
DEFAULT_AGENT_NAME = "Alex"
class Kind(StrEnum):
    SAMPLE = "Sample"
def view(member, form) -> "Kind":
    """Its docstring."""
    logger.warning("Could not send %s", member)
    if form["Body"] == "Stop now":
        raise RuntimeError("This never happens")
    note = staff_gettext("%(name)s was invited.", name=member.name)
    mixed = staff_gettext(f"{member.name} was invited.")
    html = f'<a href="{member.url}">Open it</a>'
    phone = normalize_phone(form.phone, field="From", label="Their phone")
    raise ValidationFailed({"email": f"Invitation sent to {member.email}"})
'''
    assert unwrapped(source, {"ValidationFailed": DomainError}) == [
        "7: 'Done'",
        "17: built: f'{member.name} was invited.'",
        "19: 'Their phone'",
        "20: 'Invitation sent to '",
    ]


def test_every_staff_module_is_found():
    names = {module_name(path) for path in STAFF_MODULES}
    assert {"web/admin/report_charts.py", "web/auth/routes.py", "services/doctor.py"} <= names
    assert names >= NOT_STAFF_UI


@pytest.mark.parametrize("path", STAFF_MODULES, ids=module_name)
def test_every_staff_text_in_python_is_marked(path):
    if module_name(path) in NOT_STAFF_UI:
        pytest.skip("not staff UI: " + module_name(path))
    texts = unwrapped(path.read_text(), module_namespace(path))
    assert not texts, f"{module_name(path)}: text outside a marker:\n" + "\n".join(texts)


# --- JavaScript ------------------------------------------------------------------------------

ADMIN_SCRIPTS = sorted((ROOT / "static" / "js").glob("*.js"))
WIDGET_SCRIPT = "widget-chat.js"  # the customers' (followup/web/widget/texts.py)
# A string or a comment, whichever starts first: a quote in a comment is no string.
STRING_OR_COMMENT = re.compile(
    r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|//[^\n]*|/\*.*?\*/""", re.DOTALL
)
# Not language: a selector (`querySelector(".bulk-bar [data-needs-script]")`), the name
# of a browser feature (`"Notification" in window`), the "use strict" directive.
SELECTOR_CALL = re.compile(r"\b(querySelector|querySelectorAll|closest|matches)\($")
FEATURE_TEST = re.compile(r"^\s+in\s")


def script_texts(source: str) -> list[str]:
    """The string literals of a script that people would read: words (READS_AS_WORDS),
    or a piece with a space at an end, to be joined to a value (`count + " selected"`)."""
    found = []
    for match in STRING_OR_COMMENT.finditer(source):
        literal = match.group(1)
        if literal is None:
            continue
        text = literal[1:-1]
        before, after = source[: match.start()], source[match.end() :]
        if SELECTOR_CALL.search(before) or FEATURE_TEST.match(after) or text == "use strict":
            continue
        joined = text != text.strip() and any(character.isalpha() for character in text)
        if READS_AS_WORDS.search(text) or joined:
            found.append(literal)
    return found


def test_the_check_finds_an_english_text_in_a_script():
    source = """
      // A comment's "quoted words" and it's apostrophe are no strings.
      if (!("Notification" in window)) return;
      var boxes = document.querySelectorAll("#followup-list .card-select");
      button.textContent = on ? "Desktop alerts: on" : followupText("alertsOff");
      count.textContent = checked + " selected";
      note.title = 'Saved';
      element.addEventListener("htmx:afterSettle", show);
    """
    assert script_texts(source) == ['"Desktop alerts: on"', '" selected"', "'Saved'"]


def test_every_admin_script_is_found():
    names = {path.name for path in ADMIN_SCRIPTS}
    assert {"admin-live.js", "app.js", WIDGET_SCRIPT} <= names


@pytest.mark.parametrize(
    "path", [p for p in ADMIN_SCRIPTS if p.name != WIDGET_SCRIPT], ids=lambda path: path.name
)
def test_no_admin_script_holds_an_english_text(path):
    texts = script_texts(path.read_text())
    assert not texts, f"{path.name}: take these from the page (followupText):\n" + "\n".join(texts)


def test_the_page_hands_every_admin_script_its_texts():
    calls = [
        arguments
        for path in ADMIN_SCRIPTS
        if path.name != WIDGET_SCRIPT
        for arguments in re.findall(r"followupText\(([^)]*)\)", path.read_text())
    ]
    used = {key for arguments in calls for key in re.findall(r'"(\w+)"', arguments)}
    base = (ROOT / "templates" / "base.html").read_text()
    written = set(re.findall(r'"(\w+)": _\(', base))
    assert "alertsOn" in used and "selected" in used
    assert used <= written, f"missing in base.html's script_texts: {used - written}"


# --- the catalogues ---------------------------------------------------------------------------


def template_ids(name: str) -> set[str]:
    with open(ROOT / "translations" / name, "rb") as pot:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot) if m.id}


def test_staff_texts_are_in_the_admin_template_not_the_customers_catalogue():
    admin, customers = template_ids("admin.pot"), template_ids("messages.pot")
    for text in ("Wrong email or password.", "Promise: %(hours)s h", "%(num)s pending"):
        assert text in admin and text not in customers, text
