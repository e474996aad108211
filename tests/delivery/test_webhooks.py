"""ESP webhooks over real HTTP: each ESP's documented sample payload, signed or authenticated
the way that ESP does it, becomes bounces and complaints in the log and the suppression list;
a request that does not prove where it comes from changes nothing.

Amazon SNS and the ESPs are third-party SaaS this test cannot reach. SNS signing
certificates are fetched from amazonaws.com in production; here the fetch is replaced by one
that serves a certificate this test generates, and the messages are signed with its key, as
SNS signs them (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA). SendGrid's key pair is
generated here too; Postmark uses HTTP Basic credentials from the workspace.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from server import serving

from pertinent.api.app import create_app
from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.settings import SesSettings
from pertinent.delivery.sink import SmtpSink
from pertinent.delivery.webhooks.ses import SesWebhook

SAMPLES = Path(__file__).parent / "samples"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem"
POSTMARK = ("postmark", "a-long-webhook-password")


def _sample(name: str, **replace: str) -> Any:
    text = (SAMPLES / name).read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    return json.loads(text)


def _test_certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
    """A self-signed certificate standing in for SNS's (which only amazonaws.com serves)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class FakeAmazon:
    """What `fetch` would reach on amazonaws.com: the certificate, subscription links."""

    certificate: bytes
    fetched: list[str] = field(default_factory=list)

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return self.certificate if url == CERT_URL else b"<ConfirmSubscriptionResponse/>"


@dataclass
class Hooked:
    system: System
    url: str
    message_id: str  # of the welcome email sent to ann@example.com
    sns_key: rsa.RSAPrivateKey
    sendgrid_key: ec.EllipticCurvePrivateKey
    amazon: FakeAmazon

    def sns(self, message: dict[str, Any], *, version: str = "1") -> dict[str, Any]:
        """`message` signed as SNS signs it (its canonical string, built here from the SNS
        documentation, independently of the code under test)."""
        names = (
            ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
            if message["Type"] == "Notification"
            else ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        )
        canonical = "".join(f"{n}\n{message[n]}\n" for n in names if n in message)
        digest = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.sns_key.sign(canonical.encode(), padding.PKCS1v15(), digest)
        return {
            **message,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
            "SigningCertURL": message.get("SigningCertURL", CERT_URL),
        }

    def notification(self, ses: dict[str, Any], **fields: str) -> dict[str, Any]:
        return {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": TOPIC,
            "Message": json.dumps(ses),
            "Timestamp": "2026-03-02T09:00:00.000Z",
            **fields,
        }

    def post(self, esp: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{self.url}/v1/webhooks/{esp}", content=body, headers=headers or {})

    def sendgrid(self, events: list[dict[str, Any]], *, tamper: bool = False) -> httpx.Response:
        body = json.dumps(events).encode()
        timestamp = "1772442000"
        signature = self.sendgrid_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers = {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }
        return self.post("sendgrid", body + (b" " if tamper else b""), headers)

    def events(self, name: str) -> list[dict[str, Any]]:
        with self.system.storage.snapshot() as tx:
            logged = tx.log.read_after(0, 10_000)
        return [
            {**e.event.properties, "user": e.event.user_id} for e in logged if e.event.name == name
        ]

    def suppressed(self, address: str) -> tuple[bool, bool]:
        """(suppressed for marketing, hard-bounced: no mail at all)."""
        with self.system.storage.snapshot() as tx:
            return (
                bool(tx.suppressions.suppressed([address])),
                tx.suppressions.reasons([address]).get(address) == "bounced",
            )


@pytest.fixture
def hooked(workspace: Path, clock: SimClock, sink: SmtpSink) -> Iterator[Hooked]:
    sendgrid_key = ec.generate_private_key(ec.SECP256R1())
    public = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = workspace / "pertinent.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["delivery"]["webhooks"] = {
        "ses": {"topic_arns": [TOPIC]},
        "sendgrid": {"public_key": base64.b64encode(public).decode()},
        "postmark": {"username": POSTMARK[0], "password": POSTMARK[1]},
    }
    path.write_text(yaml.safe_dump(settings))
    system = build_system(load_workspace(workspace), clock=clock)
    sns_key, certificate = _test_certificate()
    amazon = FakeAmazon(certificate)
    system.esp.ses = SesWebhook(SesSettings(topic_arns=[TOPIC]), amazon.fetch)
    system.ingestor.ingest(
        [
            {"type": "identify", "userId": "ann", "traits": {"email": "ann@example.com"}},
            {"type": "track", "event": "Signed Up", "userId": "ann"},
        ]
    )
    system.run_until_idle()
    [welcome] = sink.messages
    message_id = str(welcome.message["Message-ID"]).strip("<>").partition("@")[0]
    try:
        with serving(create_app(system)) as url:
            yield Hooked(system, url, message_id, sns_key, sendgrid_key, amazon)
    finally:
        system.close()


# Amazon SES through SNS


def test_the_documented_ses_bounce_suppresses_its_recipient_even_when_no_email_matches(
    hooked: Hooked,
) -> None:
    signed = hooked.sns(hooked.notification(_sample("ses_bounce.json")))
    answer = hooked.post("ses", json.dumps(signed).encode())

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"recorded": 0, "unmatched": 1}
    assert hooked.suppressed("jane@example.com") == (True, True), "Permanent: a hard bounce"
    assert hooked.amazon.fetched == [CERT_URL]


def test_an_ses_bounce_with_our_message_id_is_logged_for_the_person(hooked: Hooked) -> None:
    ses = _sample(
        "ses_bounce.json",
        **{"jane@example.com": "ann@example.com", "custom-message-ID": f"<{hooked.message_id}@x>"},
    )
    signed = hooked.sns(hooked.notification(ses), version="2")
    assert hooked.post("ses", json.dumps(signed).encode()).json()["recorded"] == 1
    [bounce] = hooked.events("email_bounced")
    assert (bounce["user"], bounce["message_id"], bounce["source"]) == (
        "ann",
        hooked.message_id,
        "ses",
    )
    assert bounce["bounce"] == "hard"
    assert bounce["reason"] == "Permanent General: smtp; 550 5.1.1 <ann@example.com>... User"

    again = hooked.post("ses", json.dumps(signed).encode())  # SNS retries until it gets a 2xx
    assert again.json() == {"recorded": 0, "unmatched": 0}
    assert len(hooked.events("email_bounced")) == 1


def test_an_ses_complaint_found_by_its_address_is_logged_and_suppresses(hooked: Hooked) -> None:
    ses = _sample("ses_complaint.json", **{"richard@example.com": "ann@example.com"})
    signed = hooked.sns(hooked.notification(ses, Subject="Amazon SES Email Event Notification"))
    assert hooked.post("ses", json.dumps(signed).encode()).json() == {
        "recorded": 1,
        "unmatched": 0,
    }
    [complaint] = hooked.events("email_complained")
    assert (complaint["user"], complaint["message_id"]) == ("ann", hooked.message_id)
    assert complaint["feedback_type"] == "abuse"
    assert hooked.suppressed("ann@example.com") == (True, False)


@pytest.mark.parametrize(
    "forgery",
    [
        "a changed message",
        "a certificate elsewhere",
        "a certificate over http",
        "a look-alike host",
        "another topic",
    ],
)
def test_an_sns_message_that_does_not_prove_itself_changes_nothing(
    hooked: Hooked, forgery: str
) -> None:
    ses = _sample("ses_bounce.json", **{"jane@example.com": "ann@example.com"})
    message = hooked.notification(ses)
    urls = {
        "a certificate elsewhere": "https://evil.example/SimpleNotificationService-0000.pem",
        "a certificate over http": CERT_URL.replace("https:", "http:"),
        "a look-alike host": "https://sns.us-east-1.amazonaws.com.evil.example/c.pem",
    }
    if forgery in urls:
        message["SigningCertURL"] = urls[forgery]
    if forgery == "another topic":
        message["TopicArn"] = "arn:aws:sns:us-east-1:999999999999:theirs"
    signed = hooked.sns(message)
    if forgery == "a changed message":
        signed["Message"] = signed["Message"].replace("Permanent", "Transient")

    answer = hooked.post("ses", json.dumps(signed).encode())

    assert answer.status_code == 403, answer.text
    assert hooked.events("email_bounced") == []
    assert hooked.suppressed("ann@example.com") == (False, False)
    assert all(url == CERT_URL for url in hooked.amazon.fetched), "nothing fetched elsewhere"


def test_a_subscription_to_our_topic_is_confirmed(hooked: Hooked) -> None:
    subscribe = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336"
    signed = hooked.sns(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336",
            "TopicArn": TOPIC,
            "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
            "SubscribeURL": subscribe,
            "Timestamp": "2026-03-02T09:00:00.000Z",
        }
    )
    assert hooked.post("ses", json.dumps(signed).encode()).status_code == 200
    assert hooked.amazon.fetched == [CERT_URL, subscribe]


# SendGrid


def test_the_documented_sendgrid_events_map_to_bounces_and_a_complaint(hooked: Hooked) -> None:
    events = _sample("sendgrid_events.json", **{"example@test.com": "ann@example.com"})
    answer = hooked.sendgrid(events)

    # The bounce and the drop of the bounced address say one thing: one event.
    assert answer.json() == {"recorded": 2, "unmatched": 0}
    [bounce] = hooked.events("email_bounced")
    assert (bounce["bounce"], bounce["source"], bounce["user"]) == ("hard", "sendgrid", "ann")
    assert bounce["reason"] == "5.0.0 500 unknown recipient"
    assert len(hooked.events("email_complained")) == 1
    assert hooked.suppressed("ann@example.com") == (True, True)


def test_a_sendgrid_request_whose_signature_does_not_match_changes_nothing(
    hooked: Hooked,
) -> None:
    events = _sample("sendgrid_events.json", **{"example@test.com": "ann@example.com"})
    assert hooked.sendgrid(events, tamper=True).status_code == 403
    assert hooked.post("sendgrid", json.dumps(events).encode()).status_code == 403, "unsigned"
    assert hooked.suppressed("ann@example.com") == (False, False)


# Postmark


def test_the_documented_postmark_bounce_and_complaint_are_recorded(hooked: Hooked) -> None:
    auth = httpx.BasicAuth(*POSTMARK)
    bounce = _sample("postmark_bounce.json", **{"john@example.com": "ann@example.com"})
    answer = httpx.post(f"{hooked.url}/v1/webhooks/postmark", json=bounce, auth=auth)
    assert answer.json() == {"recorded": 1, "unmatched": 0}
    [logged] = hooked.events("email_bounced")
    assert (logged["bounce"], logged["user"], logged["message_id"]) == (
        "hard",
        "ann",
        hooked.message_id,
    )
    complaint = _sample("postmark_spam_complaint.json")
    answer = httpx.post(f"{hooked.url}/v1/webhooks/postmark", json=complaint, auth=auth)
    assert answer.json() == {"recorded": 0, "unmatched": 1}, "john@example.com got nothing of ours"
    assert hooked.suppressed("john@example.com") == (True, False)


def test_postmark_without_the_credentials_changes_nothing(hooked: Hooked) -> None:
    bounce = _sample("postmark_bounce.json")
    url = f"{hooked.url}/v1/webhooks/postmark"
    assert httpx.post(url, json=bounce).status_code == 403
    assert httpx.post(url, json=bounce, auth=("postmark", "guess")).status_code == 403
    assert hooked.suppressed("john@example.com") == (False, False)


def test_bad_json_after_a_good_signature_is_a_400_naming_the_body(hooked: Hooked) -> None:
    auth = httpx.BasicAuth(*POSTMARK)
    answer = httpx.post(f"{hooked.url}/v1/webhooks/postmark", content=b"{nope", auth=auth)
    assert answer.status_code == 400
    assert answer.json()["where"] == "body"


def test_an_endpoint_the_workspace_did_not_configure_is_404(
    system: System,
) -> None:
    with serving(create_app(system)) as url:
        answer = httpx.post(f"{url}/v1/webhooks/ses", content=b"{}")
    assert answer.status_code == 404
    assert "delivery.webhooks.ses" in answer.json()["hint"]
