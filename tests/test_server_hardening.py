"""The server as an attacker meets it: no body read before authentication, no secret in a
log line, no link built from a Host header, portal sessions that end, private files."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from infinity_workflows.server.routers.portal import COOKIE_NAME, CSRF_COOKIE
from tests.support.hostile import big_bodies
from tests.support.jobs import submit, summary, wait_finished
from tests.support.server import LiveServer, portal_login
from tests.support.waiting import wait_for


def _vm_hwm_kb(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _post_head(srv: LiveServer, path: str, length: int, headers: str = "") -> socket.socket:
    """A POST whose headers promise ``length`` bytes of body, and only 64 KiB of it sent."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    sock.sendall((f"POST /{path} HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {length}\r\n{headers}"
                  "\r\n").encode() + b"[" * 65536)
    return sock


def _reset_peak_memory(pid: int) -> None:
    """Start the process's VmHWM afresh from its present size (the server is shared, so its
    peak so far may come from any earlier test)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def test_an_unauthenticated_body_is_never_read(server: LiveServer) -> None:
    _reset_peak_memory(server.proc.pid)
    before = _vm_hwm_kb(server.proc.pid)
    for path in ("api/batch/", "api/batch/estimate/"):
        for auth in ("", "Authorization: Token not-a-real-token\r\n"):
            sock = _post_head(server, path, 20 * 1024 * 1024, auth)
            try:
                # Answered from the headers alone: the other 20 MB are never waited for.
                answer = sock.recv(65536).decode("latin-1")
            finally:
                sock.close()
            assert answer.startswith("HTTP/1.1 401"), answer[:200]
            assert "token" in answer.lower()
    # And a full 20 MB body sent anyway costs nothing to speak of.
    blob = b'{"name": "x", "job_runs": [' + b" " * (20 * 1024 * 1024) + b"]}"
    # The server may close the connection once it has answered 401.
    with contextlib.suppress(requests.ConnectionError):
        requests.post(server.url + "api/batch/", data=blob, timeout=30,
                      headers={"Content-Type": "application/json"})
    assert _vm_hwm_kb(server.proc.pid) - before < 10 * 1024
    # The portal's login cannot be authenticated first: its body is held to 16 KiB.
    sock = _post_head(server, "portal/login/", 20 * 1024 * 1024)
    try:
        assert sock.recv(65536).decode("latin-1").startswith("HTTP/1.1 413")
    finally:
        sock.close()
    # A known token still gets its body read and checked (the limit still holds).
    ok = server.post("api/batch/estimate/", {"name": "x", "job_runs": [
        {"name": "tiny-v1", "is_preview": True, "param_values": {}}]})
    assert ok.status_code == 200, ok.text


def test_no_signature_or_token_reaches_the_log(server: LiveServer) -> None:
    created = submit(server, [{}])
    (run,) = wait_finished(server, created["id"])
    signature = dict(p.split("=") for p in urlsplit(run["result_url"]).query.split("&"))[
        "signature"]
    assert requests.get(run["result_url"], timeout=30).status_code == 200
    requests.get(server.url + f"api/batch/?token={server.token}", timeout=30,
                 headers={"Authorization": f"Token {server.token}"})
    line = f"api/results/{run['id']}/"  # this download's (the log is the shared server's)
    log = wait_for(lambda: (text := server.log_path.read_text()) and line in text and text,
                   timeout=60, what="the access log line of the download")
    assert signature not in log and server.token not in log
    assert any(line in entry and "signature=<redacted>" in entry for entry in log.splitlines())


@pytest.mark.slow
def test_result_links_ignore_the_host_header(server: LiveServer, make_server) -> None:
    srv = server
    created = submit(srv, [{}])
    wait_finished(srv, created["id"])
    evil = requests.get(srv.url + f"api/batch/{created['id']}/summary/", timeout=30,
                        headers={**srv.headers(), "Host": "evil.example",
                                 "X-Forwarded-Host": "evil.example",
                                 "X-Forwarded-Proto": "https"})
    url = evil.json()["job_runs"][0]["result_url"]
    assert url.startswith(srv.url + "api/results/"), url

    public = make_server("--workers", "1", "--public-url", "https://data.example.org/iw")
    created = submit(public, [{}])
    (run,) = wait_finished(public, created["id"])
    assert run["result_url"].startswith("https://data.example.org/iw/api/results/")
    proxied = make_server("--workers", "1", "--proxy-headers")
    created = submit(proxied, [{}])
    wait_finished(proxied, created["id"])
    behind = requests.get(proxied.url + f"api/batch/{created['id']}/summary/", timeout=30,
                          headers={
        **proxied.headers(), "Host": "ignored.example", "X-Forwarded-Host": "gw.example:8443",
        "X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/infinity"})
    assert behind.json()["job_runs"][0]["result_url"].startswith(
        "https://gw.example:8443/infinity/api/results/")
    junk = requests.get(proxied.url + f"api/batch/{created['id']}/summary/", timeout=30,
                        headers={
        **proxied.headers(), "X-Forwarded-Host": "a b/@evil", "X-Forwarded-Proto": "https"})
    assert junk.json()["job_runs"][0]["result_url"].startswith(proxied.url)


def test_portal_sessions_are_random_expire_and_end_at_logout(server: LiveServer) -> None:
    first, answer = portal_login(server.url, server.token)
    assert answer.status_code == 303
    cookie = first.cookies[COOKIE_NAME]
    assert "Max-Age=43200" in answer.headers["set-cookie"]  # 12 hours
    second, _ = portal_login(server.url, server.token)
    assert second.cookies[COOKIE_NAME] != cookie  # a fresh id at each login
    assert first.get(server.url + "portal/", timeout=30).status_code == 200

    stolen = requests.Session()
    stolen.cookies.set(COOKIE_NAME, cookie)
    assert stolen.get(server.url + "portal/", timeout=30, allow_redirects=False
                      ).status_code == 200
    first.post(server.url + "portal/logout/", timeout=30)
    # Logged out on the server: the copied cookie is worthless too.
    assert stolen.get(server.url + "portal/", timeout=30, allow_redirects=False
                      ).status_code == 303
    assert second.get(server.url + "portal/", timeout=30).status_code == 200


def test_login_refuses_forged_forms(server: LiveServer) -> None:
    """Another site cannot log a browser in: no CSRF value, a wrong one, or a foreign
    Origin are all refused, and no session is made."""
    plain = requests.post(server.url + "portal/login/", data={"token": server.token},
                          timeout=30, allow_redirects=False)
    browser = requests.Session()
    form = browser.get(server.url + "portal/login/", timeout=30)
    assert browser.cookies.get(CSRF_COOKIE) and 'name="csrf"' in form.text
    wrong = browser.post(server.url + "portal/login/", timeout=30, allow_redirects=False,
                         data={"token": server.token, "csrf": "guessed"})
    foreign = browser.post(server.url + "portal/login/", timeout=30, allow_redirects=False,
                           data={"token": server.token,
                                 "csrf": browser.cookies.get(CSRF_COOKIE)},
                           headers={"Origin": "https://evil.example"})
    for refused in (plain, wrong, foreign):
        assert refused.status_code == 403, refused.text[:200]
        assert COOKIE_NAME not in refused.headers.get("set-cookie", "")


@pytest.mark.slow
def test_database_results_and_secret_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        home = tmp_path / "home"
        home.mkdir(mode=0o755)
        os.chmod(home, 0o755)  # a home that already exists, open to others
        srv = LiveServer(home=home, config=tmp_path / "config")
        srv.token = srv.new_token("owner")
        srv.start()
    finally:
        os.umask(old)
    try:
        created = submit(srv, [{}])
        wait_finished(srv, created["id"])
        mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
        db = home / "infinity.sqlite3"
        files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
                 home / "secret.key", *(home / "results").iterdir()]
        assert len(files) == 5
        assert {str(p): mode(p) for p in files} == {str(p): 0o600 for p in files}
        for folder in ("results", "work", "gallery"):
            assert mode(home / folder) == 0o700, folder
        log = srv.log_path.read_text()
        assert "can be read by others" in log and "chmod 700" in log
    finally:
        srv.stop()
    assert time.monotonic()  # the server stopped cleanly above


def _session_members(sid: int) -> dict[int, str]:
    """Live processes of session ``sid`` (the server's own, as LiveServer starts it): pid ->
    command line. Zombies are dead already and do not count."""
    members: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":
            members[int(entry.name)] = cmdline
    return members


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_die_with_the_server_when_it_is_killed(make_server) -> None:
    srv = make_server("--workers", "2")
    sid = srv.proc.pid
    created = submit(srv, [{"sleep_s": 60}] * 3)
    wait_for(lambda: sum(r["status"] == "running" for r in summary(srv, created["id"])) == 2,
             timeout=120, what="both workers busy")
    # The server, its resource tracker, the forkserver and two workers.
    members = wait_for(lambda: len(m := _session_members(sid)) >= 5 and m,
                       timeout=60, what="the workers to start")
    assert any("forkserver" in c for c in members.values()), members
    assert any("resource_tracker" in c for c in members.values()), members
    try:
        os.kill(sid, 9)  # the server alone: its children are left to notice
        srv.proc.wait(timeout=30)
        started = time.monotonic()
        wait_for(lambda: not _session_members(sid), timeout=20, interval=0.05,
                 what="every process the server started to end")
        print(f"children gone {time.monotonic() - started:.2f} s after kill -9")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sid, 9)


def test_a_clean_stop_leaves_no_process_socket_folder_or_warning(make_server) -> None:
    srv = make_server("--workers", "2")
    created = submit(srv, [{}] * 4, preview=True)
    wait_finished(srv, created["id"])
    assert list((srv.home / "pool").glob("pymp-*")), "the forkserver's socket is in pool/"
    sid = srv.proc.pid
    srv.stop()
    assert srv.proc.returncode == 143  # stopped by SIGTERM, exit handlers run
    wait_for(lambda: not _session_members(sid), timeout=20, what="the pool to end")
    assert not list((srv.home / "pool").glob("pymp-*"))
    log = srv.log_path.read_text()
    assert "leaked" not in log and "Traceback" not in log, log[-2000:]


def test_no_spelling_of_a_parameter_name_gets_a_signature_into_the_log(server: LiveServer
                                                                        ) -> None:
    created = submit(server, [{}])
    (run,) = wait_finished(server, created["id"])
    base, query = run["result_url"].split("?")
    params = dict(p.split("=") for p in query.split("&"))
    expires, signature = params["expires"], params["signature"]
    spellings = ["%73ignature", "signatur%65", "%53IGNATURE", "SiGnAtUrE", "sig+nature",
                 "%2573ignature", "%25%37%33ignature", "sig%6eature", "x=1%26signature%3D"]
    answers = {}
    for name in spellings:
        answer = requests.get(f"{base}?expires={expires}&{name}={signature}", timeout=30)
        answers[name] = answer.status_code
    # Decoded once, as the server reads a query, these two are the link unchanged.
    assert answers["%73ignature"] == answers["signatur%65"] == 200, answers
    forged = requests.get(f"{base}?expires={expires}&signature={signature}&x=1%0aFORGED",
                          timeout=30)
    assert forged.status_code == 200
    marker = f"api/results/{run['id']}/"
    log = wait_for(lambda: (text := server.log_path.read_text()).count(marker)
                   >= len(spellings) + 1 and text, timeout=60, what="every request logged")
    assert signature not in log
    lines = [line for line in log.splitlines() if marker in line]
    assert all("<redacted>" in line for line in lines), lines
    assert not any(line.startswith("FORGED") for line in log.splitlines())


def test_every_body_that_will_not_parse_is_a_400_naming_its_field(server: LiveServer) -> None:
    headers = {**server.headers(), "Content-Type": "application/json"}
    huge = "9" * 5000  # beyond Python's 4,300-digit int-str limit

    def job(extra: str) -> bytes:
        return ('{"name": "x", "job_runs": [{"name": "tiny-v1", "param_values": {}}, '
                '{"name": "tiny-v1", ' + extra + '}]}').encode()
    cases = [
        (job('"param_values": {"frames": ' + huge + '}'), 1, "frames", "int_too_long"),
        (job('"param_values": {"frames": -' + huge + '}'), 1, "frames", "int_too_long"),
        (job('"param_values": {"scale": [1, ' + huge + ']}'), 1, None, "int_too_long"),
        (job('"is_preview": "yes"'), 1, "is_preview", "bool_type"),
        (job('"is_preview": 1'), 1, "is_preview", "bool_type"),
        (job('"param_values": {"color": "r\xe9d"}').replace(b"\xc3\xa9", b"\xe9"), 1, "color",
         "invalid_utf8"),
        (b'{"name": "x", "job_runs": [', None, "body", "json_invalid"),
        (b"[1, 2]", None, "body", "model_attributes_type"),
        (b"[" * 1000, None, "body", None),
    ]
    for body, job_index, param, rule in cases:
        answer = requests.post(server.url + "api/batch/", data=body, headers=headers,
                               timeout=30)
        assert answer.status_code == 400, (body[:80], answer.text[:300])
        errors = answer.json()["errors"]
        assert errors, (body[:80], answer.text)
        if rule:
            assert errors[0]["rule"] == rule, (body[:80], errors)
        assert errors[0]["job_index"] == job_index and errors[0]["param"] == param, errors
    assert "5000 digits" in requests.post(server.url + "api/batch/", data=cases[0][0],
                                          headers=headers, timeout=30).json()["detail"]


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads /proc")
def test_slow_clients_cannot_hold_connections(make_server) -> None:
    """1,500 connections that never finish their request: half-sent headers, and bodies
    promised but never sent (unauthenticated and authenticated) are all closed once the
    request deadline passes, while the server goes on answering others."""
    import selectors

    srv = make_server("--workers", "1", "--request-timeout", "2", "--max-connections", "5000")
    pid = srv.proc.pid
    baseline = _open_fds(pid)
    host = f"Host: 127.0.0.1:{srv.port}\r\n"
    starts = [
        f"GET /api/jobs/ HTTP/1.1\r\n{host}X-Slow: ",  # headers never finished
        f"POST /portal/login/ HTTP/1.1\r\n{host}Content-Type: application/x-www-form-"
        "urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=",  # the portal reads its body
        f"POST /api/batch/ HTTP/1.1\r\n{host}Authorization: Token {srv.token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"name\": ",
    ]
    selector = selectors.DefaultSelector()
    sockets = []
    try:
        for i in range(1500):
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            sock.sendall(starts[i % 3].encode())
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, {"kind": i % 3, "data": b""})
            sockets.append(sock)
        # Meanwhile the server answers everyone else.
        assert srv.get("api/jobs/").status_code == 200
        open_now = len(selector.get_map())
        assert open_now > 1000, open_now  # they were open (none closed at once)
        closed: dict[int, bytes] = {}
        deadline = time.monotonic() + 90
        while len(closed) < len(sockets) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1):
                try:
                    chunk = key.fileobj.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                key.data["data"] += chunk
                if not chunk:
                    closed[key.fileobj.fileno()] = key.data["data"]
                    selector.unregister(key.fileobj)
        assert len(closed) == len(sockets), f"{len(sockets) - len(closed)} still open"
        answers = [data for data in closed.values() if data]
        # Only the authenticated body was awaited by a route: it is told why.
        assert len(answers) >= 400 and all(a.startswith(b"HTTP/1.1 408") for a in answers), (
            len(answers), answers[:1])
    finally:
        for sock in sockets:
            sock.close()
    wait_for(lambda: _open_fds(pid) <= baseline + 5, timeout=30,
             what="the server's descriptors to return")
    assert srv.get("api/jobs/").status_code == 200


def _vm_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_large_authenticated_body_costs_little_memory_and_none_for_long(make_server
                                                                          ) -> None:
    """31 MiB bodies from a known token: padding, one long string, and shapes that parse
    into millions of objects (refused before parsing). Each raises the server's peak memory
    by a small multiple of its size at most, and the memory goes back afterwards."""
    srv = make_server("--workers", "1")
    pid = srv.proc.pid
    size = 31 * 1024 * 1024
    bodies = big_bodies(size)
    headers = {**srv.headers(), "Content-Type": "application/json"}
    srv.get("api/jobs/")  # warm: first requests load modules
    for name, body in bodies.items():
        settled = _vm_rss_kb(pid)
        _reset_peak_memory(pid)
        started = time.monotonic()
        answer = requests.post(srv.url + "api/batch/", data=body, headers=headers, timeout=120)
        took = time.monotonic() - started
        assert answer.status_code in (400, 413), (name, answer.text[:300])
        assert answer.json()["errors"], name
        peak_mb = (_vm_hwm_kb(pid) - settled) / 1024
        assert peak_mb < 5 * 31, (name, peak_mb)  # bytes, text, value: about 4x at most
        assert took < 30, (name, took)
        wait_for(lambda: _vm_rss_kb(pid) - settled < 16 * 1024, timeout=30,  # noqa: B023
                 what=f"the memory of {name} to go back")
