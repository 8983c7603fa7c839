"""Phone numbers: normalise any common format to E.164 for a practice's country (R-CREATE-2)."""

from __future__ import annotations

from frontdesk.errors import ValidationFailed


class InvalidPhone(ValidationFailed):
    pass


def normalize_phone(raw: str, country: str = "US", *, field: str = "phone") -> str:
    """E.164 for a number valid in the practice's country; anything else is InvalidPhone naming the field."""
    text = (raw or "").strip()
    if not text or len(text) > 40:
        raise InvalidPhone("A valid phone number is required.", field=field)
    # Imported here (~10 ms, docs/performance.md): many routes of a function never read a phone number.
    import phonenumbers

    try:
        parsed = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("The phone number could not be read.", field=field) from None
    # R-CREATE-2: a number that is not valid for the practice's country is invalid.
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.region_code_for_number(parsed) != country:
        raise InvalidPhone(f"The phone number is not a valid {country} number.", field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str | None, country: str = "US") -> str | None:
    if not raw or not raw.strip():
        return None
    try:
        return normalize_phone(raw, country)
    except InvalidPhone:
        return None


def mask_phone(e164: str) -> str:
    """Shows only the last two digits, so a masked number in a message is not PHI-revealing."""
    digits = e164[-2:] if len(e164) >= 2 else ""
    return f"{e164[:2]}{'•' * max(len(e164) - 4, 0)}{digits}"
