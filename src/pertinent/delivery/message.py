"""Building the MIME message: text + HTML alternatives, Message-ID, one-click unsubscribe."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr

from pertinent.content.render import RenderedEmail

# How a message goes on the wire. At the default 78 columns Python folds a header with a long
# unbreakable token (`<https://.../t/u/<token>>`) into RFC 2047 encoded-words, and mailbox
# providers then never see the RFC 8058 one-click URL. RFC 5322 allows 998-octet lines, so
# headers stay literal; the body's transfer encoding was chosen when it was set and is unchanged.
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)


def message_bytes(message: EmailMessage) -> bytes:
    """The message as sent over SMTP (CRLF line ends, headers not folded into encoded-words)."""
    return message.as_bytes(policy=WIRE_POLICY)


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope (MAIL FROM, RCPT TO) a message's From, To and Cc headers imply."""
    sender = parseaddr(str(message["From"] or ""))[1]
    headers = [str(v) for name in ("To", "Cc") for v in message.get_all(name, [])]
    return sender, [address for _, address in getaddresses(headers) if address]


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
