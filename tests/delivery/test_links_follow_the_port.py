"""`pertinent serve --port N` on a workspace that sets no `server.base_url`: the links in the
emails it sends point to port N, where the API answers them, not to a default port."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from serve_process import Served, sign_up, start_pertinent, stop_pertinent, wait_for
from server import free_port

from pertinent.delivery.sink import SmtpSink
from pertinent.scaffold import write_example_workspace


@pytest.mark.slow
def test_links_in_emails_point_to_the_port_served_on(tmp_path: Path, sink: SmtpSink) -> None:
    root = tmp_path / "ws"
    write_example_workspace(root)
    port = free_port()
    process = start_pertinent(
        ["serve", "--workspace", str(root), "--port", str(port)],
        tmp_path / "serve.log",
        {"PERTINENT_SMTP_URL": f"smtp://127.0.0.1:{sink.port}", "PERTINENT_BASE_URL": ""},
    )
    served = Served(process, f"http://127.0.0.1:{port}", tmp_path / "serve.log")
    try:
        wait_for(served.answers, "the API answers")
        assert served.send(sign_up("ann")).status_code == 200
        [welcome] = wait_for(lambda: sink.messages, "the welcome email is delivered")
        unsubscribe = str(welcome.message["List-Unsubscribe"]).strip("<>")
        assert unsubscribe.startswith(f"http://127.0.0.1:{port}/t/u/")
        assert httpx.get(unsubscribe).status_code == 200, "the link reaches the API served"
    finally:
        stop_pertinent(process)
