"""Natural phrasing for every detail the voice dialogue asks (services/capture.py: email,
name, phone, reason): what people say, as speech recognition writes it, and what we keep.

At least 40 spoken forms per detail: lead-ins ("my name is", "it's", "this is", "sure,
it's", "name:", "call me"), fillers, spoken digits and symbols, country codes said as
"plus one", and courtesies after the detail.
"""

import pytest

from followup.errors import ValidationFailed
from followup.services.voice import (
    email_from_speech,
    name_from_speech,
    phone_from_speech,
    reason_from_speech,
)

JANE = "jane.roe@example.com"
NAMES = [
    ("Ann Lee", "Ann Lee"),
    ("Ann Lee.", "Ann Lee"),
    ("my name is Ann Lee", "Ann Lee"),
    ("My name's Ann Lee!", "Ann Lee"),
    ("name is Ann Lee", "Ann Lee"),
    ("it's Ann Lee", "Ann Lee"),
    ("It is Ann Lee", "Ann Lee"),
    ("It\u2019s Ann Lee", "Ann Lee"),
    ("Sure, it's Ann Lee.", "Ann Lee"),
    ("sure it is Ann Lee", "Ann Lee"),
    ("Sure thing, Ann Lee", "Ann Lee"),
    ("yeah, my name is Ann Lee", "Ann Lee"),
    ("name: Ann Lee", "Ann Lee"),
    ("NAME: ANN LEE", "ANN LEE"),
    ("the name's Lee, Ann Lee", "Lee, Ann Lee"),
    ("My full name is Ann Marie Lee", "Ann Marie Lee"),
    ("my first name is Ann", "Ann"),
    ("I'm Ann", "Ann"),
    ("I am Ann", "Ann"),
    ("Hi, I'm Ann", "Ann"),
    ("Hello, my name is Ann Lee", "Ann Lee"),
    ("hey it's Ann", "Ann"),
    ("this is Ann Lee", "Ann Lee"),
    ("That's Ann", "Ann"),
    ("call me Ann, please", "Ann"),
    ("You can call me Ann", "Ann"),
    ("I'm called Ann Lee", "Ann Lee"),
    ("I go by Annie", "Annie"),
    ("um, Ann Lee", "Ann Lee"),
    ("uh my name is Ann Lee", "Ann Lee"),
    ("Erm, well, it's Ann Lee", "Ann Lee"),
    ("Okay, Ann Lee", "Ann Lee"),
    ("Oh, it's Ann", "Ann"),
    ("Yes, this is Ann Lee speaking", "Ann Lee"),
    ("Ann here", "Ann"),
    ("Ann Lee, thanks", "Ann Lee"),
    ("Ann Lee thank you", "Ann Lee"),
    ("It's Ann Lee, thanks!", "Ann Lee"),
    ("My name is Ann Lee, thank you very much.", "Ann Lee"),
    ("Ann Lee please", "Ann Lee"),
    ("erm, it's Dr. Ann Lee", "Dr. Ann Lee"),
    ("ann lee", "ann lee"),  # kept as said: speech may not capitalise
    ("José García", "José García"),
    ("my name is Mary-Jane O'Neil", "Mary-Jane O'Neil"),
    # Names that begin like a lead-in or a filler keep it.
    ("Itsuki Sato", "Itsuki Sato"),
    ("Willa Myname", "Willa Myname"),
    ("Okafor Eze", "Okafor Eze"),
    ("Callum Mead", "Callum Mead"),
    ("Thistle Isaacs", "Thistle Isaacs"),
    ("Ima Hogg", "Ima Hogg"),
    ("Heyward Ohara", "Heyward Ohara"),
    ("Hermione Herenow", "Hermione Herenow"),
    ("yes", ""),
    ("my name is", ""),
]
EMAILS = [
    ("john at example dot com", "john@example.com"),
    ("j o h n at example dot com", "john@example.com"),
    ("j o h n d o e at example dot com", "johndoe@example.com"),
    ("john doe at example dot com", "johndoe@example.com"),
    ("John.Doe@Example.com", "john.doe@example.com"),
    ("john@example.com", "john@example.com"),
    ("john at example.com", "john@example.com"),
    ("John At Example Dot Com.", "john@example.com"),
    ("my email is jane dot roe at example dot com", JANE),
    ("My email address is jane dot roe at example dot com", JANE),
    ("My e-mail address is jane dot roe at example dot com", JANE),
    ("email is jane dot roe at example dot com", JANE),
    ("the email is jane dot roe at example dot com", JANE),
    ("email: jane dot roe at example dot com", JANE),
    ("E-mail: jane dot roe at example dot com", JANE),
    ("Email address: jane.roe@example.com", JANE),
    ("it's jane dot roe at example dot com", JANE),
    ("It is jane dot roe at example dot com", JANE),
    ("its jane dot roe at example dot com", JANE),  # the apostrophe not heard
    ("Yeah it\u2019s jane dot roe at example dot com", JANE),
    ("that's jane dot roe at example dot com!", JANE),
    ("That is jane dot roe at example dot com", JANE),
    ("Sure, it is jane dot roe at example dot com.", JANE),
    ("sure thing, jane dot roe at example dot com", JANE),
    ("OK, um, my email's jane dot roe at example dot com", JANE),
    ("uh, it's jane dot roe at example dot com", JANE),
    ("Hi, my email is jane dot roe at example dot com", JANE),
    ("You can reach me at jane dot roe at example dot com", JANE),
    ("email me at jane dot roe at example dot com", JANE),
    ("send it to jane dot roe at example dot com", JANE),
    ("jane dot roe at example dot com please", JANE),
    ("jane dot roe at example dot com, thank you", JANE),
    ("Yes. My email is jane dot roe at example dot com. Thank you.", JANE),
    ("it's jane dot roe at example dot com, thanks a lot", JANE),
    # Spoken symbols and digits.
    ("J O H N underscore D O E AT EXAMPLE DOT COM", "john_doe@example.com"),
    ("J. O. H. N. at example dot com", "john@example.com"),
    ("j, o, h, n at example dot com", "john@example.com"),
    ("john hyphen doe at my dash site dot org", "john-doe@my-site.org"),
    ("John dash Paul at example dot com", "john-paul@example.com"),
    ("ann plus news at example dot com", "ann+news@example.com"),
    ("john period doe at example dot com", "john.doe@example.com"),
    ("o apostrophe brien at example dot ie", "o'brien@example.ie"),
    ("r two d two at example dot co dot uk", "r2d2@example.co.uk"),
    ("john oh seven at example dot com", "john07@example.com"),
    ("info at acme hyphen shop dot de", "info@acme-shop.de"),
    ("john at mail dot example dot com dot au", "john@mail.example.com.au"),
    # A filler that is part of the address.
    ("well dot smith at example dot com", "well.smith@example.com"),
    ("sure, it's well dot smith at example dot com", "well.smith@example.com"),
    ("ok dash go at example dot com", "ok-go@example.com"),
]
PHONE = "+14155550100"
LONDON = "+442071838750"
PHONES = [
    ("+1 415 555 0100", PHONE),
    ("+14155550100", PHONE),
    ("+1 (415) 555-0100", PHONE),
    ("+1-415-555-0100", PHONE),
    ("+1.415.555.0100", PHONE),
    ("plus 1 415 5550100", PHONE),
    ("PLUS 1 415 555 0100", PHONE),
    ("plus one four one five five five five zero one zero zero", PHONE),
    ("Plus One Four One Five Five Five Five Zero One Zero Zero.", PHONE),
    ("plus one, four one five, five five five, zero one zero zero", PHONE),
    ("plus one four one five double five five oh one oh oh", PHONE),
    ("plus one four one five triple five zero one double zero", PHONE),
    ("plus one four one five, five five five, oh one hundred", PHONE),
    ("plus one four one five five five five O one O O", PHONE),
    ("it's plus one 415 555 0100", PHONE),
    ("It is plus one, 415, 555, 0100", PHONE),
    ("Sure, it's +1 (415) 555-0100.", PHONE),
    ("Oh, it's plus one 415 555 0100", PHONE),
    ("uh plus one four one five five five five zero one zero zero", PHONE),
    ("Okay, plus one 415 555 0100", PHONE),
    ("phone: +1 415 555 0100", PHONE),
    ("my phone number is plus one 415 555 0100", PHONE),
    ("Yeah my number's +1 415 555 0100", PHONE),
    ("the number is plus one four one five five five five oh one oh oh", PHONE),
    ("my cell is +1 415 555 0100", PHONE),
    ("my mobile number is +1 415 555 0100", PHONE),
    ("call me on +1 415 555 0100", PHONE),
    ("You can reach me at plus one 415 555 0100", PHONE),
    ("+1 415 555 0100 is my number", PHONE),
    ("plus one 415 555 0100 please", PHONE),
    ("+1 415 555 0100, thanks", PHONE),
    ("plus one four one five five five five zero one zero zero thank you", PHONE),
    ("my number is +44 20 7183 8750", LONDON),
    ("plus four four two oh seven one eight three eight seven five oh", LONDON),
    ("plus forty four, twenty, seventy one eighty three, eighty seven fifty", LONDON),
    ("um, plus forty-four 20 7183 8750", LONDON),
    ("double oh four four 20 7183 8750", LONDON),
    ("0044 20 7183 8750", LONDON),
    ("oh oh four four two oh seven one eight three eight seven five oh", LONDON),
    ("+33 1 42 68 53 00", "+33142685300"),
    ("plus three three one four two six eight five three double oh", "+33142685300"),
    ("plus sixty one two nine three seven four four thousand", "+61293744000"),
    ("+49 30 12345678", "+493012345678"),
    ("plus thirty four nine one two three four five six seven eight", "+34912345678"),
]
REASONS = [
    ("My invoice is wrong", "My invoice is wrong"),
    ("My invoice is wrong.", "My invoice is wrong"),
    ("Um, my invoice is wrong", "my invoice is wrong"),
    ("Well, my invoice is wrong.", "my invoice is wrong"),
    ("Sure, my invoice is wrong", "my invoice is wrong"),
    ("yeah, the invoice is wrong", "the invoice is wrong"),
    ("uh I want to change my address", "I want to change my address"),
    ("Okay, I want to change my address.", "I want to change my address"),
    ("Hi, I'd like a quote", "I'd like a quote"),
    ("Hello, I have a billing question", "I have a billing question"),
    ("It's about my invoice", "my invoice"),
    ("It is about my invoice", "my invoice"),
    ("it\u2019s regarding my invoice", "my invoice"),
    ("That's about the delivery", "the delivery"),
    ("This is about a missing parcel", "a missing parcel"),
    ("Yes, it's about the delivery", "the delivery"),
    ("It's about, um, my refund", "my refund"),
    ("I'm calling about my order", "my order"),
    ("I am calling regarding my order", "my order"),
    ("The reason is my invoice is wrong", "my invoice is wrong"),
    ("My reason is a refund", "a refund"),
    ("The reason's a late delivery", "a late delivery"),
    ("reason is late delivery", "late delivery"),
    ("reason: invoice wrong", "invoice wrong"),
    ("Yeah the reason is I was double charged", "I was double charged"),
    ("I need a refund please", "I need a refund"),
    ("I need a refund, thanks", "I need a refund"),
    ("I need help with my bill, thank you very much", "I need help with my bill"),
    ("I was charged twice!", "I was charged twice"),
    ("Refund", "Refund"),
    ("refund.", "refund"),
    # Free text that starts like a lead-in of another detail is the customer's words.
    ("It's broken", "It's broken"),
    ("It is not working", "It is not working"),
    ("That's the problem, my order never came", "That's the problem, my order never came"),
    ("This is urgent", "This is urgent"),
    ("Call me back about my order", "Call me back about my order"),
    ("I'm locked out of my account", "I'm locked out of my account"),
    ("My email is wrong on my account", "My email is wrong on my account"),
    ("My name is misspelled on the invoice", "My name is misspelled on the invoice"),
    ("Please call me about pricing", "Please call me about pricing"),
    ("Sorry, my order is late", "Sorry, my order is late"),
    ("Well.com domain transfer", "Well.com domain transfer"),
    ("Okayama office hours", "Okayama office hours"),
    ("a quote for 3 windows", "a quote for 3 windows"),
    ("Thanks", "Thanks"),
    ("Um", ""),
]


@pytest.mark.parametrize(("table", "at_least"), [(NAMES, 40), (EMAILS, 40), (PHONES, 40)])
def test_each_detail_is_tried_on_at_least_40_spoken_forms(table, at_least):
    assert len(table) >= at_least and len({heard for heard, _ in table}) == len(table)


def test_the_reason_too():
    assert len(REASONS) >= 40 and len({heard for heard, _ in REASONS}) == len(REASONS)


@pytest.mark.parametrize(("heard", "name"), NAMES)
def test_name_as_people_say_it(heard, name):
    assert name_from_speech(heard) == name


@pytest.mark.parametrize(("heard", "email"), EMAILS)
def test_email_as_people_say_it(heard, email):
    assert email_from_speech(heard) == email


@pytest.mark.parametrize(("heard", "phone"), PHONES)
def test_phone_as_people_say_it(heard, phone):
    assert phone_from_speech(heard) == phone


@pytest.mark.parametrize(
    "heard",
    [
        "415 555 0100",  # no country code: whose 415?
        "four one five five five five zero one zero zero",
        "my number is",
        "oh, it's",
        "plus one",
        "skip it",
    ],
)
def test_a_phone_without_a_country_code_or_digits_is_asked_again(heard):
    with pytest.raises(ValidationFailed):
        phone_from_speech(heard)


@pytest.mark.parametrize(("heard", "reason"), REASONS)
def test_reason_as_people_say_it(heard, reason):
    assert reason_from_speech(heard) == reason
