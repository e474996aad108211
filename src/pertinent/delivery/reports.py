"""Reading what arrives at the bounce address: delivery status notifications (RFC 3464) and
abuse feedback reports (ARF, RFC 5965), as `Bounce` and `Complaint` values.

Both are `multipart/report` messages: a human-readable part, a machine-readable part
(`message/delivery-status` with one block per recipient, or `message/feedback-report`), and
the original message or its headers. Which email a report is about comes, most trusted first,
from the VERP address it was sent to (`bounces+<message id>@…`), the feedback report's
Original-Mail-From (our VERP return path again), or the returned Message-ID header.

Anything else that reaches the address (an auto-reply, a human answer, a report we cannot
read) is no report at all: an empty list, never an error, so one odd message never stops
the bounce server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import HeaderParser

from pertinent.delivery.feedback import Bounce, Complaint, Feedback, message_id_of

_STATUS = re.compile(r"^([245])\.\d{1,3}\.\d{1,3}")


def verp_message_id(address: str, bounce_address: str) -> str | None:
    """The message id in `bounces+<id>@domain` when `address` is a VERP form of ours."""
    local, _, domain = bounce_address.lower().partition("@")
    found = re.fullmatch(
        rf"<?{re.escape(local)}\+([A-Za-z0-9]+)@{re.escape(domain)}>?", address.strip().lower()
    )
    return found.group(1) if found else None


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a `message/*` part (Python parses each into a Message), or of a
    `text/rfc822-headers` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    if isinstance(payload, str):
        return [HeaderParser(policy=policy.default).parsestr(payload)]
    return []


def _parts(report: Message, *types: str) -> list[Message]:
    return [p for p in report.walk() if p.get_content_type() in types]


def _returned_message_id(report: Message) -> str | None:
    for part in _parts(report, "message/rfc822", "text/rfc822-headers", "message/global"):
        for block in _blocks(part):
            if (found := message_id_of(block.get("Message-ID"))) is not None:
                return found
    return None


def _address(field: str | None) -> str | None:
    """`rfc822; a@b` or `<a@b>` as `a@b`."""
    if not field:
        return None
    value = field.rpartition(";")[2] if ";" in field else field
    return value.strip().strip("<>").strip() or None


def _dsn(report: Message, message_id: str | None) -> list[Feedback]:
    found: list[Feedback] = []
    for part in _parts(report, "message/delivery-status", "message/global-delivery-status"):
        for block in _blocks(part)[1:]:  # the first block is about the message, not a recipient
            action = str(block.get("Action", "")).strip().lower()
            status = _STATUS.match(str(block.get("Status", "")).strip())
            if action not in ("failed", "delayed") or status is None:
                continue  # delivered, relayed, expanded: good news, nothing to record
            diagnostic = str(block.get("Diagnostic-Code", "")).strip()
            found.append(
                Bounce(
                    source="dsn",
                    address=_address(
                        block.get("Final-Recipient") or block.get("Original-Recipient")
                    ),
                    message_id=message_id,
                    hard=action == "failed" and status.group(1) == "5",
                    reason=f"{action} {block.get('Status')}: {diagnostic}".strip(" :"),
                )
            )
    return found


def _arf(report: Message, message_id: str | None, bounce_address: str) -> list[Feedback]:
    found: list[Feedback] = []
    for part in _parts(report, "message/feedback-report"):
        for block in _blocks(part)[:1]:
            mail_from = _address(block.get("Original-Mail-From")) or ""
            found.append(
                Complaint(
                    source="arf",
                    address=_address(block.get("Original-Rcpt-To"))
                    or _address(block.get("Removal-Recipient")),
                    message_id=verp_message_id(mail_from, bounce_address) or message_id,
                    feedback_type=str(block.get("Feedback-Type", "abuse")).strip().lower(),
                )
            )
    return found


def read_report(raw: bytes, recipients: Sequence[str], bounce_address: str) -> list[Feedback]:
    """The bounces and complaints in one message received at the bounce address."""
    report = message_from_bytes(raw, policy=policy.default)
    assert isinstance(report, EmailMessage)
    if report.get_content_type() != "multipart/report":
        return []
    verp = next(
        (m for r in recipients if (m := verp_message_id(r, bounce_address)) is not None), None
    )
    message_id = verp or _returned_message_id(report)
    match str(report.get_param("report-type", "")).lower():
        case "delivery-status":
            return _dsn(report, message_id)
        case "feedback-report":
            return _arf(report, message_id, bounce_address)
        case _:
            return []
