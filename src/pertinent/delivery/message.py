"""Building the MIME message: text + HTML alternatives, Message-ID, one-click unsubscribe."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from pertinent.content.render import RenderedEmail


def message_id_header(message_id: str, from_addr: str) -> str:
    domain = parseaddr(from_addr)[1].rpartition("@")[2] or "pertinent.local"
    return f"<{message_id}@{domain}>"


def build_message(
    rendered: RenderedEmail,
    *,
    from_addr: str,
    to_addr: str,
    message_id: str,
    unsubscribe_url: str,
    sent_at: datetime,
    reply_to: str | None = None,
) -> EmailMessage:
    """One email ready for any transport.

    `List-Unsubscribe` with an https URL plus `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
    is RFC 8058 one-click unsubscribe, which large mailbox providers require of bulk senders.
    """
    message = EmailMessage()
    message["From"] = from_addr
    message["To"] = to_addr
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id_header(message_id, from_addr)
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
