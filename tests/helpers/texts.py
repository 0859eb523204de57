"""What reads as words to a person, for the checks that every text staff read is ready
for a catalogue (tests/unit/test_admin_texts.py, tests/unit/test_staff_texts.py)."""

import re

# Two words, or one capitalised word: "public key", "Verified" (not "step-", "#id", "SMS").
READS_AS_WORDS = re.compile(r"[^\W\d_]{2,} [^\W\d_]+|^[A-Z][a-z]+$")
