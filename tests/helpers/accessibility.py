"""axe-core run on a page or one of its frames (the widget's accessibility tests).

axe-playwright-python bundles axe-core and injects it with Playwright's `evaluate`, so
no page loads anything from outside and the page's Content Security Policy is not
involved. Every rule axe runs by default is on (WCAG 2.0 and 2.1 A and AA, and its
best practices), and the WCAG 2.2 AA ones it leaves off; a rule switched off needs
its reason beside it in DISABLED_RULES.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Frame, Page

# rule id -> why it is off (one line). None is.
DISABLED_RULES: dict[str, str] = {}
# WCAG 2.2 AA rules that axe-core leaves off by default: on here.
WCAG22_RULES = ["target-size"]  # 2.5.8: a control is at least 24 by 24 px, or spaced so

AXE = Axe()
OPTIONS = {
    "resultTypes": ["violations"],
    # A cross-origin frame is checked on its own (pass the Frame): axe in the page
    # would otherwise wait for an axe inside the frame that it cannot inject.
    "iframes": False,
    "rules": {rule: {"enabled": False} for rule in DISABLED_RULES}
    | {rule: {"enabled": True} for rule in WCAG22_RULES},
}


# Colours are measured mid-way through a panel's slide-in otherwise (faded text fails
# contrast): wait for every animation that ends (a typing indicator loops forever).
SETTLED = """() => Promise.all(document.getAnimations()
  .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
  .map(a => a.finished.catch(() => null)))"""


def violations(target: Page | Frame, within: str | None = None) -> list[str]:
    """One line per element in violation: rule id, impact, target, help. `within`: a CSS
    selector, to check only that part of the page."""
    target.evaluate(SETTLED)
    found = AXE.run(target, context=within, options=OPTIONS).response["violations"]
    return [
        f"{v['id']} ({v['impact']}) at {' > '.join(map(str, node['target']))}: {v['help']}"
        for v in found
        for node in v["nodes"]
    ]


def assert_accessible(target: Page | Frame, where: str, within: str | None = None) -> None:
    """Fails the test listing every violation axe finds in `target` (the page or frame
    `where` names, for the message), or in its part `within` (a CSS selector)."""
    if found := violations(target, within):
        listed = "\n".join(f"  - {line}" for line in found)
        pytest.fail(f"axe found accessibility violations in {where}:\n{listed}", pytrace=False)
